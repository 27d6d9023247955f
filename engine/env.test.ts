import { describe, expect, it } from 'vitest';
import { EngineEnvError, loadEngineEnv } from './env';

const base = { DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/sandpool' };

describe('the engine environment', () => {
  it('applies defaults and treats empty variables as unset', () => {
    const env = loadEngineEnv({ ...base, ENGINE_PORT: '' });
    expect(env).toMatchObject({ ENGINE_HOST: '127.0.0.1', ENGINE_PORT: 3100, SANDPOOL_RUN_DIR: '/run/sandpool', SANDBOX_PIDS_LIMIT: 256, SANDBOX_DATA_MIB: 512 });
    expect(env.SANDPOOL_PRELOAD).toBeUndefined();
  });

  it('names every bad variable with what a good value looks like', () => {
    try {
      loadEngineEnv({ DATABASE_URL: 'mysql://x', ENGINE_PORT: '70000', SANDPOOL_PRELOAD: 'numpy; rm -rf /' });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(EngineEnvError);
      const message = (error as Error).message;
      expect(message).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
      expect(message).toContain('ENGINE_PORT: must be between 0 and 65535');
      expect(message).toContain('SANDPOOL_PRELOAD: must be "none" or module names separated by commas');
    }
  });

  it('accepts a preload list of module names, or none', () => {
    expect(loadEngineEnv({ ...base, SANDPOOL_PRELOAD: 'numpy,matplotlib.pyplot' }).SANDPOOL_PRELOAD).toBe('numpy,matplotlib.pyplot');
    expect(loadEngineEnv({ ...base, SANDPOOL_PRELOAD: 'none' }).SANDPOOL_PRELOAD).toBe('none');
  });
});
