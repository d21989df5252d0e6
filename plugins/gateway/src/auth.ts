// The API gateway's client authentication (Skitai's enable_gateway and its auth handler):
// bearer tokens only. A JWT (three dot-separated parts) is verified with jsonwebtoken against
// the configured key, then handed to `handleClaim`; any other token goes to `handleToken`.
import { createRequire } from 'node:module';
import type jwt from 'jsonwebtoken';
import { Buffer } from 'node:buffer';

// jsonwebtoken (and its dependencies) are loaded only by a gateway that checks tokens: a plain
// reverse proxy does not carry them in memory.
let jwtModule: typeof jwt | undefined;
const loadJwt = (): typeof jwt => (jwtModule ??= createRequire(import.meta.url)('jsonwebtoken') as typeof jwt);
import type { SkitaiRequest } from '@skitai/kernel';
import { codes } from './errors.js';

/** Who a token stands for. */
export interface Identity {
  user: string;
  roles?: readonly string[];
}

/** What an authorizer returns: an identity, or nothing (undefined, null, false) to refuse. */
export type Verdict = Identity | undefined | null | false;

/** Skitai's auth handler: `handleToken` for opaque tokens, `handleClaim` for verified JWT claims. */
export interface Authorizer {
  /** An opaque bearer token (not a JWT): look it up and return who it is, or refuse. */
  handleToken?(req: SkitaiRequest, token: string): Verdict | Promise<Verdict>;
  /** The claims of a JWT whose signature, `exp` and `nbf` were verified: accept or refuse. */
  handleClaim?(claim: jwt.JwtPayload, req: SkitaiRequest): Verdict | Promise<Verdict>;
}

export interface AuthOptions {
  /** HS256 secret (Skitai's enable_gateway secret). */
  secret?: string | Buffer;
  /** RS256 public key (PEM), for tokens signed by an identity provider. */
  publicKey?: string | Buffer;
  authorizer?: Authorizer;
  /** Seconds of clock skew allowed on `exp` and `nbf` (default 0). */
  clockTolerance?: number;
}

export type AuthOutcome =
  { ok: true; identity: Identity } | { ok: false; status: 401 | 403; message: string; challenge?: string };

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The bearer token of a request, or undefined (no Authorization, another scheme, empty). */
export function bearerToken(req: SkitaiRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth === undefined || auth.length < 8 || auth.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = auth.slice(7).trim();
  return token === '' ? undefined : token;
}

function isIdentity(v: unknown): v is Identity {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Identity).user === 'string' &&
    ((v as Identity).roles === undefined ||
      (Array.isArray((v as Identity).roles) && (v as Identity).roles!.every((r) => typeof r === 'string')))
  );
}

/** A claim's default reading when no handleClaim is given: `user` (or `sub`) and `roles`. */
function identityOfClaim(claim: jwt.JwtPayload): Verdict {
  const user = typeof claim.user === 'string' ? claim.user : typeof claim.sub === 'string' ? claim.sub : undefined;
  if (user === undefined) return undefined;
  const roles = Array.isArray(claim.roles)
    ? claim.roles.filter((r: unknown): r is string => typeof r === 'string')
    : [];
  return { user, roles };
}

export class Authenticator {
  private readonly keys: Array<{ key: string | Buffer; algorithms: jwt.Algorithm[] }> = [];

  constructor(private readonly options: AuthOptions) {
    const { secret, publicKey, authorizer, clockTolerance } = options;
    if (secret !== undefined) {
      if (!(typeof secret === 'string' || Buffer.isBuffer(secret)) || secret.length < 16) {
        throw codes.SKT_GATEWAY_OPTION(
          'secret',
          typeof secret === 'string' ? '(hidden)' : secret,
          'a string or Buffer of 16 characters or more',
        );
      }
      this.keys.push({ key: secret, algorithms: ['HS256'] });
    }
    if (publicKey !== undefined) {
      if (!(typeof publicKey === 'string' || Buffer.isBuffer(publicKey)) || !String(publicKey).includes('PUBLIC KEY')) {
        throw codes.SKT_GATEWAY_OPTION('publicKey', '(key)', 'a PEM public key');
      }
      this.keys.push({ key: publicKey, algorithms: ['RS256'] });
    }
    if (authorizer !== undefined) {
      if (
        typeof authorizer !== 'object' ||
        authorizer === null ||
        (typeof authorizer.handleToken !== 'function' && typeof authorizer.handleClaim !== 'function')
      ) {
        throw codes.SKT_GATEWAY_OPTION(
          'authorizer',
          typeof authorizer,
          'an object with handleToken(req, token) and/or handleClaim(claim, req)',
        );
      }
    }
    if (clockTolerance !== undefined && !(typeof clockTolerance === 'number' && clockTolerance >= 0)) {
      throw codes.SKT_GATEWAY_OPTION('clockTolerance', clockTolerance, 'seconds, 0 or more');
    }
  }

  /** Verifies a JWT against the configured keys; undefined plus the reason when it fails. */
  private verify(token: string): { claim?: jwt.JwtPayload; why?: string } {
    if (this.keys.length === 0) return { why: 'JWTs are not accepted here (no secret or publicKey)' };
    let why = 'invalid token';
    const jwt = loadJwt();
    for (const { key, algorithms } of this.keys) {
      try {
        const claim = jwt.verify(token, key, { algorithms, clockTolerance: this.options.clockTolerance ?? 0 });
        if (typeof claim !== 'object' || claim === null) return { why: 'the token carries no claims' };
        return { claim };
      } catch (err) {
        // Expiry and not-yet-valid say more than a signature mismatch under the other key.
        if (err instanceof jwt.TokenExpiredError) return { why: 'the token has expired' };
        if (err instanceof jwt.NotBeforeError) return { why: 'the token is not valid yet' };
        why = `invalid token: ${(err as Error).message}`;
      }
    }
    return { why };
  }

  async authenticate(req: SkitaiRequest): Promise<AuthOutcome> {
    const token = bearerToken(req);
    if (token === undefined) {
      return {
        ok: false,
        status: 401,
        message: 'a bearer token is required (Authorization: Bearer <token>)',
        challenge: 'Bearer realm="skitai"',
      };
    }
    const refuse = (message: string): AuthOutcome => ({
      ok: false,
      status: 401,
      message,
      challenge: `Bearer realm="skitai", error="invalid_token"`,
    });
    const authorizer = this.options.authorizer;
    let verdict: Verdict;
    if (jwtShape.test(token)) {
      const { claim, why } = this.verify(token);
      if (claim === undefined) return refuse(why!);
      verdict = authorizer?.handleClaim ? await authorizer.handleClaim(claim, req) : identityOfClaim(claim);
    } else {
      if (!authorizer?.handleToken) return refuse('the token is not a JWT and no handleToken is configured');
      verdict = await authorizer.handleToken(req, token);
    }
    if (!verdict) return refuse('the token was refused');
    if (!isIdentity(verdict)) return refuse('the authorizer returned no { user, roles }');
    return { ok: true, identity: verdict };
  }
}

/** Whether an identity holds one of the roles an alias asks for (any role without a list). */
export function hasRole(identity: Identity | undefined, roles: readonly string[]): boolean {
  if (roles.length === 0) return true;
  const held = identity?.roles;
  if (held === undefined) return false;
  for (const r of roles) if (held.includes(r)) return true;
  return false;
}
