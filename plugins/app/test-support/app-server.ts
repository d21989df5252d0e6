// Test helper: a real Kernel on an ephemeral port with apps mounted. (Not under test/: Node
// would run it as a test file.)
import net from 'node:net';
import { Kernel, type MountTarget, type MountOptions } from '@skitai/kernel';

export interface Served {
  kernel: Kernel;
  base: string;
  port: number;
  close(): Promise<void>;
}

/** Mounts [point, target, options?] entries (or one App at '/') and starts on port 0. */
export async function serve(
  mounts: MountTarget | [string, MountTarget, MountOptions?][],
  setup?: (kernel: Kernel) => void,
): Promise<Served> {
  const kernel = new Kernel();
  const list: [string, MountTarget, MountOptions?][] = Array.isArray(mounts) ? mounts : [['/', mounts]];
  for (const [point, target, options] of list) kernel.mount(point, target, options);
  setup?.(kernel);
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  return { kernel, port, base: `http://127.0.0.1:${port}`, close: () => kernel.stop() };
}

/** Sends raw bytes and resolves with everything the server answered until it closed (or timeout). */
export function raw(
  port: number,
  request: string | Buffer,
  options: { timeout?: number; halfClose?: boolean } = {},
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
    }, options.timeout ?? 2000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      closed = true;
    });
    socket.on('error', () => {
      /* resets after a refusal are expected */
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    });
    socket.write(request, (err) => {
      if (err) reject(err);
    });
  });
}
