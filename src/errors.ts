/**
 * An error the user caused (a bad option, a bad file). The CLI prints its one-line message
 * without a stack trace and exits non-zero.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Throws a UserError unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new UserError(typeof message === 'string' ? message : message());
}
