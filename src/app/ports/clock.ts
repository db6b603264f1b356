// Time, passed in: use cases never read a clock themselves. Epoch milliseconds.

export interface Clock {
  nowMs(): number;
}
