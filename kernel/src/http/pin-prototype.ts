import { Readable, Stream } from 'node:stream';

const cache = new WeakMap<object, PropertyDescriptorMap>();

/** The accessors and methods of `obj`'s class chain above node's stream classes, once per class. */
function ownClassDescriptors(proto: object): PropertyDescriptorMap {
  let map = cache.get(proto);
  if (map === undefined) {
    map = {};
    const layers: object[] = [];
    for (
      let p: object | null = proto;
      p !== null && p !== Readable.prototype && p !== Stream.prototype && p !== Object.prototype;
      p = Object.getPrototypeOf(p)
    )
      layers.push(p);
    // The nearest class wins: copy from the farthest first.
    for (const layer of layers.reverse()) {
      for (const key of Reflect.ownKeys(layer)) {
        if (key === 'constructor') continue;
        map[key] = Object.getOwnPropertyDescriptor(layer, key)!;
      }
    }
    cache.set(proto, map);
  }
  return map;
}

/**
 * Express (and frameworks like it) set the request's and response's prototypes to their own,
 * which extend node:http's IncomingMessage and ServerResponse. An HTTP/2 compatibility
 * request is not one: its own class's accessors and methods (url, headers, _read, writeHead,
 * and their internal symbols) would be lost. Pinning them on the objects themselves keeps them
 * whatever prototype comes next; the framework's methods are still found on its prototype.
 */
export function pinPrototype(req: object, res: object): void {
  Object.defineProperties(req, ownClassDescriptors(Object.getPrototypeOf(req)));
  Object.defineProperties(res, ownClassDescriptors(Object.getPrototypeOf(res)));
}
