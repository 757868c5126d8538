/**
 * Ports for servers a test or `zooid up` starts a moment later: free when
 * chosen, and outside the kernel's ephemeral range, where an outgoing
 * connection made meanwhile could take one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePorts, portInUse } from '@zooid/cli';

const ephemeralFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

describe('freePorts', () => {
  it('gives the first of a run of ports, each free, all below the ephemeral range', async () => {
    for (let i = 0; i < 20; i++) {
      const first = await freePorts(3);
      expect(first).toBeGreaterThanOrEqual(10_000);
      expect(first + 2).toBeLessThan(ephemeralFrom);
      for (let p = first; p < first + 3; p++) expect(await portInUse(p, '127.0.0.1')).toBe(false);
    }
  });
});
