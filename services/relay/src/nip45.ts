// NIP-45 COUNT: ["COUNT", <id>, <filters…>] → ["COUNT", <id>, {"count": n}].
// https://github.com/nostr-protocol/nips/blob/master/45.md
export const countResponse = (subId: string, count: number): string =>
  JSON.stringify(['COUNT', subId, { count }])
