"""PyTorch reference for `fashion-gan bench`: the seed's fmnist-lms / cifar-lms train step.

The same layers, parameter counts, loss (BCE from logits) and optimiser (Adam 1e-4, eps 1e-7)
as the TF.js presets; PyTorch lays images out NCHW. Prints one JSON line:
{"trainImagesPerSec", "generate64Ms", "torch", "threads"} (medians after warm-up).
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="fmnist-lms", choices=["fmnist-lms", "cifar-lms"])
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.manual_seed(0)
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
        g_grads = torch.autograd.grad(gen_loss, list(g.parameters()), retain_graph=True)
        d_grads = torch.autograd.grad(disc_loss, list(d.parameters()))
        for p, gr in zip(g.parameters(), g_grads):
            p.grad = gr
        for p, gr in zip(d.parameters(), d_grads):
            p.grad = gr
        opt_g.step()
        opt_d.step()
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
    print(json.dumps({
        "trainImagesPerSec": a.batch_size / statistics.median(times),
        "generate64Ms": statistics.median(gen[2:]),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
