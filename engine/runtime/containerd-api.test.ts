// Our .proto definitions (engine/runtime/proto) against bytes worked out by hand from
// containerd's field numbers, without a daemon: the runc shim decodes these options itself, and
// a wrong field number there would silently run runc instead of gVisor.
import { describe, expect, it } from 'vitest';
import { RUNC_OPTIONS_TYPE_URL, runcOptions } from './containerd-api';

describe('containerd API definitions', () => {
  it('encodes containerd.runc.v1.Options with binary_name = 6 and root = 7', () => {
    const options = runcOptions({ binaryName: '/b', root: '/r' });
    expect(options.typeUrl).toBe(RUNC_OPTIONS_TYPE_URL);
    // field 6, wire type 2 → 0x32; field 7 → 0x3a; then the length and the UTF-8 bytes.
    expect(options.value).toEqual(Buffer.from([0x32, 0x02, ...Buffer.from('/b'), 0x3a, 0x02, ...Buffer.from('/r')]));
    expect(runcOptions({}).value).toEqual(Buffer.alloc(0));
  });
});
