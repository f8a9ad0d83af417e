// A TCP relay between one page and the api that a test can cut and restore, so that one page loses
// its connection while the api and the other pages go on (a browser's offline emulation leaves
// WebSockets open). It cuts everything, only the WebSocket (a network that drops long-lived
// connections while requests still go through), or only the requests (so a test can choose what a
// page hears first). The page loads from the relay's port; the api sees a loopback Host either way.

import net from 'node:net';

import { freePort } from './stack.mjs';

const isUpgrade = (firstBytes) => /^upgrade:\s*websocket/im.test(firstBytes.toString('latin1'));

export class CuttableLink {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.cut = null; // null | 'all' | 'websocket' | 'requests'
    this.pairs = new Set();
  }

  async start() {
    this.port = await freePort();
    this.server = net.createServer((client) => this.relay(client));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    this.baseUrl = `http://127.0.0.1:${this.port}`;
  }

  relay(client) {
    // While cut, a connection is accepted and dropped: the page sees a failed attempt.
    if (this.cut === 'all') {
      client.destroy();
      return;
    }
    client.on('error', () => client.destroy());
    // The first bytes tell a WebSocket upgrade from a request (a browser sends the whole head).
    client.once('data', (first) => {
      const upgrade = isUpgrade(first);
      if (this.cuts(upgrade)) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      const pair = { client, upstream, upgrade };
      this.pairs.add(pair);
      const drop = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) {
        socket.on('error', drop);
        socket.on('close', drop);
      }
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  cuts(upgrade) {
    return this.cut === 'all' || this.cut === (upgrade ? 'websocket' : 'requests');
  }

  /** Drops the open connections of `what` ('all', 'websocket', 'requests'), refuses new ones. */
  cutNow(what = 'all') {
    this.cut = what;
    for (const pair of [...this.pairs]) {
      if (!this.cuts(pair.upgrade)) continue;
      this.pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
    }
  }

  restore() {
    this.cut = null;
  }

  async stop() {
    this.cutNow('all');
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve()));
  }
}
