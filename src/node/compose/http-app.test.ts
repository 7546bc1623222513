import { describe, expect, it } from 'vitest';
import { publicRpcUrl } from './http-app.js';

describe('the chain endpoint on the public /status', () => {
  it('keeps scheme, host and port, and drops user-info, path and query where credentials sit', () => {
    expect(publicRpcUrl('http://127.0.0.1:8545')).toBe('http://127.0.0.1:8545');
    expect(publicRpcUrl('https://operator:s3cret@besu.example.org:8545/')).toBe(
      'https://besu.example.org:8545',
    );
    expect(publicRpcUrl('https://mainnet.example.io/v3/0123456789abcdef')).toBe('https://mainnet.example.io');
    expect(publicRpcUrl('wss://rpc.example.org/ws?apikey=abc')).toBe('wss://rpc.example.org');
  });

  it('serves no part of a URL it cannot parse', () => {
    expect(publicRpcUrl('not a url with a key 0xabc')).toBe('unparseable');
  });
});
