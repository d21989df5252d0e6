// Import @skitai/kernel if it is built; otherwise say why, so the harness can skip cleanly.
export async function loadKernel() {
  let mod;
  try {
    mod = await import('@skitai/kernel');
  } catch (e) {
    return { reason: `@skitai/kernel cannot be imported (build it: npx tsc -b): ${String(e.message).split('\n')[0]}` };
  }
  if (typeof mod.Kernel !== 'function') return { reason: '@skitai/kernel exports no Kernel' };
  return mod;
}
