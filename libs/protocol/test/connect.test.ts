import { describe, expect, it } from 'vitest';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  encodeConnectRequest,
  encodeConnectResponse,
} from '../src/connect.js';
import { JuteError } from '../src/jute.js';
import type { ConnectRequest, ConnectResponse } from '../src/records.js';

const passwd = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const request: ConnectRequest = {
  protocolVersion: 0,
  lastZxidSeen: 0x200000007,
  timeOut: 30_000,
  sessionId: 0x1000a6bd0ae0000n,
  passwd,
};
const response: ConnectResponse = { protocolVersion: 0, timeOut: 4000, sessionId: 0x1000a6bd0ae0000n, passwd };

describe('ConnectRequest', () => {
  it('round-trips with the readOnly byte (3.3+ clients)', () => {
    const bytes = encodeConnectRequest({ ...request, readOnly: true });
    expect(bytes.length).toBe(4 + 8 + 4 + 8 + 4 + 16 + 1);
    expect(decodeConnectRequest(bytes)).toEqual({ ...request, readOnly: true });
  });

  it('round-trips without it (3.4-era clients), leaving readOnly absent', () => {
    const bytes = encodeConnectRequest(request);
    expect(bytes.length).toBe(44);
    const decoded = decodeConnectRequest(bytes);
    expect(decoded).toEqual(request);
    expect('readOnly' in decoded).toBe(false);
  });

  it('ignores bytes after the readOnly byte, as the server does', () => {
    const bytes = Buffer.concat([encodeConnectRequest({ ...request, readOnly: false }), Buffer.from([7, 7])]);
    expect(decodeConnectRequest(bytes).readOnly).toBe(false);
  });

  it('reports every truncation before the password ends', () => {
    const bytes = encodeConnectRequest(request);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => decodeConnectRequest(bytes.subarray(0, cut))).toThrow(JuteError);
    }
  });
});

describe('ConnectResponse', () => {
  it('carries the readOnly byte only when set', () => {
    expect(encodeConnectResponse(response).length).toBe(36);
    expect(encodeConnectResponse({ ...response, readOnly: false }).length).toBe(37);
    expect(decodeConnectResponse(encodeConnectResponse(response))).toEqual(response);
    expect(decodeConnectResponse(encodeConnectResponse({ ...response, readOnly: true }))).toEqual({
      ...response,
      readOnly: true,
    });
  });

  it('reports every truncation before the password ends', () => {
    const bytes = encodeConnectResponse(response);
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => decodeConnectResponse(bytes.subarray(0, cut))).toThrow(JuteError);
    }
  });
});
