import proxyAddr from 'proxy-addr';

import type { TrustProxySetting } from '../../config/app-config';

/**
 * Decides whether the hop at `hop` (0 is the socket peer, 1 the right-most
 * `X-Forwarded-For` entry, and so on) is a trusted proxy. `address` is the
 * canonical address of that hop, or `undefined` when the entry is not an IP
 * address.
 */
export type TrustProxyFunction = (address: string | undefined, hop: number) => boolean;

/**
 * Compiles a `TRUST_PROXY` setting with the semantics of Express's
 * `trust proxy`: a boolean trusts every hop or none, a number trusts that many
 * hops counted from the socket peer, and a list trusts the hops whose address
 * is in it. A hop that is not an IP address is in no list.
 */
export function compileTrustProxy(setting: TrustProxySetting): TrustProxyFunction {
  if (typeof setting === 'boolean') {
    return () => setting;
  }
  if (typeof setting === 'number') {
    return (_address, hop) => hop < setting;
  }
  const isInList = proxyAddr.compile([...setting]);
  return (address, hop) => address !== undefined && isInList(address, hop);
}
