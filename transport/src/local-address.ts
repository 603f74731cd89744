import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/**
 * Note [the address peers can reach]
 * A worker's link listener must be bound to an address its peers can reach, and without configuration the best
 * guess is the one its own traffic to the NATS server leaves from: the server is reachable from every worker,
 * so the interface that routes to it is the worker's interface on the cluster network (the pod IP in
 * Kubernetes, the veth of a network namespace, 127.0.0.1 on one machine). A UDP socket `connect`ed to the
 * server's host asks the kernel for exactly that route and sends nothing.
 */
export async function localAddressToward(host: string, port: number): Promise<string> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const socket = createSocket(isIPv6(bare) ? 'udp6' : 'udp4');
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, bare, () => resolve(socket.address().address));
    });
  } finally {
    socket.close();
  }
}
