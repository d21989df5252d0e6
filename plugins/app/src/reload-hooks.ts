// Module resolve hook for the app reloader (runs in the loader thread). When a module was
// imported with ?skitai-reload=N&skitai-root=R, its relative imports of files under R get the
// same query: they are evaluated afresh with it. Packages (bare specifiers) never are.

interface ResolveContext {
  parentURL?: string;
}
interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<ResolveResult>;

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<ResolveResult> {
  const result = await next(specifier, context);
  const parent = context.parentURL;
  if (!parent || !parent.includes('skitai-reload=')) return result;
  if (!(specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:'))) return result;
  if (!result.url.startsWith('file:') || result.url.includes('skitai-reload=')) return result;
  const from = new URL(parent);
  const root = from.searchParams.get('skitai-root');
  const target = new URL(result.url);
  if (!root || !decodeURIComponent(target.pathname).startsWith(root) || target.pathname.includes('/node_modules/'))
    return result;
  target.search = from.search;
  return { ...result, url: target.href };
}
