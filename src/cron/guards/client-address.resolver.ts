import type { IncomingMessage } from 'node:http';

import { Injectable } from '@nestjs/common';
import proxyAddr from 'proxy-addr';

import { AppConfig } from '../../config/app-config';
import { canonicalAddress } from './client-address';
import { compileTrustProxy, type TrustProxyFunction } from './trust-proxy';

/** The client of a request as the `TRUST_PROXY` rule determines it. */
export interface ClientAddress {
  /**
   * Canonical address of the client, or `undefined` when the entry that names
   * the client is not an IP address (for example `unknown`, `_hidden` or
   * `203.0.113.7:99999`).
   */
  readonly address: string | undefined;
  /**
   * Canonical address of the trusted proxy that reported the client, or
   * `undefined` when the client is the socket peer itself.
   */
  readonly reportedBy: string | undefined;
}

/**
 * Determines the client address of a request for the allowlist and the rate
 * limit, so that both see the same client.
 *
 * The walk starts at the socket peer and goes back through `X-Forwarded-For`
 * from right to left. The first hop that is not a trusted proxy is the
 * client. When every hop is trusted, the left-most entry is the client. This is
 * Express's `trust proxy` rule, with one difference: every entry is
 * canonicalised before the trust check, so a proxy that writes its own
 * address with a port (`10.0.0.5:51000`) or as IPv4-mapped IPv6 is still
 * recognised. Only `X-Forwarded-For` is read; `Forwarded` and `X-Real-IP`
 * are ignored.
 */
@Injectable()
export class ClientAddressResolver {
  private readonly isTrusted: TrustProxyFunction;
  private readonly resolved = new WeakMap<IncomingMessage, ClientAddress>();

  constructor(config: AppConfig) {
    this.isTrusted = compileTrustProxy(config.http.trustProxy);
  }

  /** Returns the client of the request; the result is computed once per request. */
  resolve(request: IncomingMessage): ClientAddress {
    let client = this.resolved.get(request);
    if (client === undefined) {
      client = this.walkHops(request);
      this.resolved.set(request, client);
    }
    return client;
  }

  private walkHops(request: IncomingMessage): ClientAddress {
    // The socket peer first, then the X-Forwarded-For entries from right to
    // left. The peer is undefined when the socket has already closed.
    const hops: (string | undefined)[] = proxyAddr.all(request);
    let reportedBy: string | undefined;
    for (let hop = 0; hop < hops.length - 1; hop++) {
      const address = canonicalAddress(hops[hop]);
      if (!this.isTrusted(address, hop)) {
        return { address, reportedBy };
      }
      reportedBy = address;
    }
    return { address: canonicalAddress(hops.at(-1)), reportedBy };
  }
}
