// zod's own messages ("Too small: expected number to be >=64", "Invalid input: expected int, received
// number") are written for programmers. `installPlainMessages` makes zod say the same in plain words wherever a
// schema gives no message of its own (a schema's own message always wins). Both tRPC servers turn it on when
// their error formatter loads (src/lib/trpc-errors.ts).
import { z } from 'zod';

type Issue = z.core.$ZodRawIssue;

const KINDS: Record<string, string> = { number: 'a number', int: 'a whole number', string: 'text', boolean: 'yes or no', array: 'a list', object: 'a set of fields' };

function characters(n: number | bigint) {
  return Number(n) === 1 ? '1 character' : `${n} characters`;
}

export function plainMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'this is needed';
      if (issue.expected === 'number' && typeof issue.input === 'number') return 'must be a number';
      return `must be ${KINDS[issue.expected] ?? issue.expected}`;
    case 'too_small': {
      const least = issue.inclusive ? 'at least' : 'more than';
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'this is needed' : `must be ${least} ${characters(issue.minimum)}`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must hold ${least} ${issue.minimum}`;
      return `must be ${least} ${issue.minimum}`;
    }
    case 'too_big': {
      const most = issue.inclusive ? 'at most' : 'less than';
      if (issue.origin === 'string') return `must be ${most} ${characters(issue.maximum)}`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must hold ${most} ${issue.maximum}`;
      return `must be ${most} ${issue.maximum}`;
    }
    case 'invalid_format':
      if (issue.format === 'email') return 'enter an email address like you@example.com';
      if (issue.format === 'url') return 'must be a URL';
      if (issue.format === 'uuid') return 'must be an id (a UUID)';
      if (issue.format === 'ipv4' || issue.format === 'ipv6') return `must be an ${issue.format === 'ipv4' ? 'IPv4' : 'IPv6'} address`;
      return 'is not in the form expected here';
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `${issue.keys.join(', ')} ${issue.keys.length === 1 ? 'is' : 'are'} not known here`;
    case 'invalid_union':
      return 'is not in any form accepted here';
    default:
      return undefined;
  }
}

export function installPlainMessages(): void {
  z.config({ customError: plainMessage });
}
