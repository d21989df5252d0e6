/**
 * An error of this package, with a stable `code`. Its own class rather than the kernel's
 * SkitaiError, so that the stand-alone agent and CLI do not load the whole kernel.
 */
export class SmtpdaError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SmtpdaError';
    this.code = code;
  }
}

const SkitaiError = SmtpdaError;

// The plugin's error codes. Stable: match on `err.code`, never on the text.
export const smtpdaCodes = {
  SKT_SMTPDA_NO_RECIPIENT: () =>
    new SkitaiError('SKT_SMTPDA_NO_RECIPIENT', 'email: no recipient (give "to", or call addTo/addCc/addBcc)'),
  SKT_SMTPDA_ADDRESS: (field: string, value: unknown, why: string) =>
    new SkitaiError('SKT_SMTPDA_ADDRESS', `email: invalid ${field} address ${JSON.stringify(value)}: ${why}`),
  SKT_SMTPDA_ATTACHMENT: (file: string, why: string) =>
    new SkitaiError('SKT_SMTPDA_ATTACHMENT', `email: attachment ${JSON.stringify(file)} ${why}`),
  SKT_SMTPDA_CONTENT: (why: string) => new SkitaiError('SKT_SMTPDA_CONTENT', `email: ${why}`),
  SKT_SMTPDA_NO_SERVER: () =>
    new SkitaiError(
      'SKT_SMTPDA_NO_SERVER',
      'email: no SMTP server: call setSmtp(server, ...) or give smtpda({ server })',
    ),
  SKT_SMTPDA_SENT: () => new SkitaiError('SKT_SMTPDA_SENT', 'email: send() was already called for this message'),
  SKT_SMTPDA_OPTION: (name: string, value: unknown, expected: string) =>
    new SkitaiError('SKT_SMTPDA_OPTION', `smtpda: invalid ${name}: ${JSON.stringify(value)} (expected ${expected})`),
  SKT_SMTPDA_CONFIG: (file: string, why: string) =>
    new SkitaiError('SKT_SMTPDA_CONFIG', `smtpda: config ${file}: ${why}`),
} as const;
