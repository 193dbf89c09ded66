/** Bad input from an operator: one line, exit code 2, nothing changed. */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A required service (PostgreSQL, Redis, a webhook) cannot be reached. Exit code 2. */
export class UnavailableError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** A requested phase change that the rules forbid (illegal transition, not eligible, order). */
export class TransitionRefusedError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = 'TransitionRefusedError';
  }
}
