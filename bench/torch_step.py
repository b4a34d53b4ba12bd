"""PyTorch reference for `fashion-gan bench`: the fmnist-lms, cifar-lms and fashion train steps.

The same layers, parameter counts, losses and optimisers as the TF.js presets; PyTorch lays
images out NCHW.
- fmnist-lms / cifar-lms: the seed's DCGAN, BCE from logits, Adam 1e-4 (eps 1e-7).
- fashion: class-conditional G (z ⊕ embed(label)), D with spectral norm on every kernel and a
  projection term ⟨embed(y), φ⟩, hinge loss, Adam 2e-4 β1 0.5, and an EMA (0.999) of G's weights
  updated every step; generation uses the EMA generator.
Prints one JSON line: {"trainImagesPerSec", "generate64Ms", "torch", "threads"} (medians after
warm-up).
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def apply_gan_step(g, d, gen_loss, disc_loss, opt_g, opt_d):
    """Both players' gradients from one forward pass (as TF.js's two tapes), then both Adam steps."""
    g_grads = torch.autograd.grad(gen_loss, list(g.parameters()), retain_graph=True)
    d_grads = torch.autograd.grad(disc_loss, list(d.parameters()))
    for p, gr in zip(g.parameters(), g_grads):
        p.grad = gr
    for p, gr in zip(d.parameters(), d_grads):
        p.grad = gr
    opt_g.step()
    opt_d.step()


def keras_same_deconv(cin, cout, k, s):
    # Keras 'same' for a transposed conv (odd k): output = input * stride.
    return nn.ConvTranspose2d(cin, cout, k, s, padding=(k - 1) // 2, output_padding=s - 1, bias=False)


def build(preset):
    size, ch = (7, 1) if preset == "fmnist-lms" else (8, 3)
    g = nn.Sequential(
        nn.Linear(100, size * size * 256, bias=False), nn.BatchNorm1d(size * size * 256, momentum=0.01, eps=1e-3), nn.LeakyReLU(0.3),
        nn.Unflatten(1, (256, size, size)),
        keras_same_deconv(256, 128, 5, 1), nn.BatchNorm2d(128, momentum=0.01, eps=1e-3), nn.LeakyReLU(0.3),
        keras_same_deconv(128, 64, 5, 2), nn.BatchNorm2d(64, momentum=0.01, eps=1e-3), nn.LeakyReLU(0.3),
        keras_same_deconv(64, ch, 5, 2), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(ch, 64, 5, 2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, padding=2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(size * size * 128, 1),
    )
    return g, d, size * 4, ch


class FashionG(nn.Module):
    """z [n, 64] ⊕ embed(label) [n, 32] → Dense 6272 → BN → LReLU → 7×7×128 → deconvs 4×4 s2 to
    14×14×64 and 28×28×32 (BN, LReLU) → 3×3 deconv to 28×28×1 → tanh. No biases (as the preset)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 32)
        self.net = nn.Sequential(
            nn.Linear(96, 7 * 7 * 128, bias=False), nn.BatchNorm1d(7 * 7 * 128, momentum=0.1, eps=1e-3), nn.LeakyReLU(0.2),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, 2, padding=1, bias=False), nn.BatchNorm2d(64, momentum=0.1, eps=1e-3), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(64, 32, 4, 2, padding=1, bias=False), nn.BatchNorm2d(32, momentum=0.1, eps=1e-3), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(32, 1, 3, 1, padding=1, bias=False), nn.Tanh(),
        )

    def forward(self, z, y):
        return self.net(torch.cat([z, self.embed(y)], 1))


class FashionD(nn.Module):
    """Spectral-norm convs 4×4 s2 (1→64→128, LReLU 0.2) → φ [n, 6272] → SN Dense(1) + ⟨embed(y), φ⟩."""

    def __init__(self):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.features = nn.Sequential(
            sn(nn.Conv2d(1, 64, 4, 2, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(64, 128, 4, 2, padding=1)), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.logit = sn(nn.Linear(6272, 1))
        self.embed = nn.Embedding(10, 6272)

    def forward(self, x, y):
        phi = self.features(x)
        return self.logit(phi) + (self.embed(y) * phi).sum(1, keepdim=True)


def fashion(a):
    g, d = FashionG(), FashionD()
    ema = FashionG()
    ema.load_state_dict(g.state_dict())
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7)
    real = torch.tanh(torch.randn(a.batch_size, 1, 28, 28))
    labels = torch.randint(0, 10, (a.batch_size,))
    times = []
    for i in range(2 + a.steps):
        z = torch.randn(a.batch_size, 64)
        t0 = time.perf_counter()
        fake = g(z, labels)
        fake_out = d(fake, labels)
        real_out = d(real, labels)
        gen_loss = -fake_out.mean()
        disc_loss = torch.relu(1 - real_out).mean() + torch.relu(1 + fake_out).mean()
        apply_gan_step(g, d, gen_loss, disc_loss, opt_g, opt_d)
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), g.parameters()):
                pe.mul_(0.999).add_(p, alpha=0.001)
            for be, b in zip(ema.buffers(), g.buffers()):
                be.copy_(b)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    ema.eval()
    gen = []
    with torch.no_grad():
        z, y = torch.randn(64, 64), torch.randint(0, 10, (64,))
        for _ in range(7):
            t0 = time.perf_counter()
            ema(z, y)
            gen.append((time.perf_counter() - t0) * 1000)
    return times, gen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="fmnist-lms", choices=["fmnist-lms", "cifar-lms", "fashion"])
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.manual_seed(0)
    times, gen = fashion(a) if a.preset == "fashion" else seed_dcgan(a)
    print(json.dumps({
        "trainImagesPerSec": a.batch_size / statistics.median(times),
        "generate64Ms": statistics.median(gen[2:]),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


def seed_dcgan(a):
    g, d, hw, ch = build(a.preset)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-4, eps=1e-7)
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-4, eps=1e-7)
    bce = nn.BCEWithLogitsLoss()
    real = torch.tanh(torch.randn(a.batch_size, ch, hw, hw))
    ones = torch.ones(a.batch_size, 1)
    zeros = torch.zeros(a.batch_size, 1)
    times = []
    for i in range(2 + a.steps):
        z = torch.randn(a.batch_size, 100)
        t0 = time.perf_counter()
        fake = g(z)
        real_out = d(real)
        fake_out = d(fake)
        gen_loss = bce(fake_out, ones)
        disc_loss = bce(real_out, ones) + bce(fake_out, zeros)
        opt_g.zero_grad()
        opt_d.zero_grad()
        apply_gan_step(g, d, gen_loss, disc_loss, opt_g, opt_d)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    g.eval()
    gen = []
    with torch.no_grad():
        z = torch.randn(64, 100)
        for _ in range(7):
            t0 = time.perf_counter()
            g(z)
            gen.append((time.perf_counter() - t0) * 1000)
    return times, gen


if __name__ == "__main__":
    main()
