import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { parseInput } from './common';
import { createPoolSchema, POOL_DEFAULTS, updatePoolSchema } from './pool';

function errorsOf(input: unknown): Record<string, string[]> {
  try {
    parseInput(createPoolSchema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).fieldErrors ?? {};
  }
  throw new Error('expected the pool to be rejected');
}

describe('createPoolSchema', () => {
  it("fills Azure's defaults", () => {
    expect(parseInput(createPoolSchema, { name: 'demo1' })).toEqual({
      name: 'demo1',
      containerType: 'PythonLTS',
      isolation: 'gVisor',
      maxConcurrentSessions: 10,
      readySessionInstances: 5,
      cooldownPeriodInSeconds: 300,
      networkStatus: 'EgressDisabled',
      cpu: 0.5,
      memoryGi: 1,
    });
  });

  it('accepts enum values in any case and numbers as strings (forms, CLI)', () => {
    expect(parseInput(createPoolSchema, { name: 'demo2', containerType: 'pythonlts', isolation: 'RUNC', maxConcurrentSessions: '20', cpu: '1.25' })).toMatchObject({
      containerType: 'PythonLTS',
      isolation: 'runc',
      maxConcurrentSessions: 20,
      cpu: 1.25,
    });
  });

  it.each([
    [{ name: 'My-Pool' }, 'name', 'lowercase letters and digits'],
    [{ name: 'ab' }, 'name', 'lowercase letters and digits'],
    [{ name: 'demo', maxConcurrentSessions: 601 }, 'maxConcurrentSessions', 'must be a whole number from 1 to 600'],
    [{ name: 'demo', maxConcurrentSessions: 2.5 }, 'maxConcurrentSessions', 'must be a whole number from 1 to 600'],
    [{ name: 'demo', maxConcurrentSessions: 2, readySessionInstances: 3 }, 'readySessionInstances', 'cannot exceed maxConcurrentSessions'],
    [{ name: 'demo', cooldownPeriodInSeconds: 5 }, 'cooldownPeriodInSeconds', 'must be a whole number from 10 to 3600'],
    [{ name: 'demo', cpu: 0.3 }, 'cpu', 'must be from 0.25 to 2 cores, in steps of 0.25'],
    [{ name: 'demo', memoryGi: 8 }, 'memoryGi', 'must be from 0.5 to 4 GiB, in steps of 0.25'],
    [{ name: 'demo', containerType: 'CustomContainer' }, 'containerType', 'Only PythonLTS'],
    [{ name: 'demo', containerType: 'Cobol' }, 'containerType', 'must be PythonLTS, NodeLTS, Shell or CustomContainer'],
    [{ name: 'demo', networkStatus: 'EgressEnabled' }, 'networkStatus', 'not supported yet'],
    [{ name: 'demo', isolation: 'kata' }, 'isolation', 'gVisor'],
  ])('rejects %j on %s', (input, field, message) => {
    expect(errorsOf(input)[field]?.join(' ')).toContain(message);
  });
});

describe('POOL_DEFAULTS', () => {
  it('are the schema defaults, which Azure tooling also assumes', () => {
    expect(POOL_DEFAULTS).toEqual({
      containerType: 'PythonLTS',
      isolation: 'gVisor',
      maxConcurrentSessions: 10,
      readySessionInstances: 5,
      cooldownPeriodInSeconds: 300,
      networkStatus: 'EgressDisabled',
      cpu: 0.5,
      memoryGi: 1,
    });
  });
});

describe('updatePoolSchema', () => {
  it('takes any subset of the settings, without defaults', () => {
    expect(parseInput(updatePoolSchema, { cpu: '0.75' })).toEqual({ cpu: 0.75 });
    expect(parseInput(updatePoolSchema, {})).toEqual({});
  });
});
