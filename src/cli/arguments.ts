// Parsers for option values: a value the command cannot use is refused, never silently replaced.
import { InvalidArgumentError } from 'commander';

export function positiveInteger(value: string): number {
  const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return number;
}
