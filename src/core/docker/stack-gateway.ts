// This computer's address on a Docker bridge network: the network's gateway, which Linux puts on
// the bridge interface. Containers on the network reach the host there (the BTCPay webhook
// receiver and the mint's settlement hook listen on it; the supervisor names it in a container's
// /etc/hosts when its spec asks). Docker picks the subnet when it makes the network, so it is
// asked, never assumed.
import type Docker from 'dockerode'
import { isIPv4 } from 'node:net'

export interface StackGateway {
  /** The host's address on the stack network (IPv4), e.g. 172.18.0.1. */
  readonly gateway: string
  /** The network's subnet, e.g. 172.18.0.0/16. */
  readonly subnet: string
}

/** The gateway and subnet of a Docker network, or undefined when it does not exist (yet). */
export async function stackGateway(
  docker: Docker,
  network: string,
): Promise<StackGateway | undefined> {
  let info: { IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] } }
  try {
    info = (await docker.getNetwork(network).inspect()) as typeof info
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined
    throw err
  }
  const c = (info.IPAM?.Config ?? []).find(
    (x) => x.Gateway && x.Subnet && isIPv4(x.Gateway) && x.Subnet.includes('.'),
  )
  return c ? { gateway: c.Gateway!, subnet: c.Subnet! } : undefined
}
