/**
 * The SASL users of a ZooKeeper JAAS file, so an operator's existing
 * `-Djava.security.auth.login.config` file carries over:
 *
 *     Server {
 *       org.apache.zookeeper.server.auth.DigestLoginModule required
 *       user_super="adminsecret"
 *       user_bob="bobsecret";
 *     };
 *
 * Only the DigestLoginModule entries of the named section (ZooKeeper's
 * default, `Server`) count; Kerberos modules are named in the error, since
 * Zooid does not speak GSSAPI.
 */
import { readFileSync } from 'node:fs';

export class JaasError extends Error {}

const DIGEST_MODULE = 'org.apache.zookeeper.server.auth.DigestLoginModule';

type Token = { kind: 'word' | 'string' | 'punct'; text: string };

function tokenize(text: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (text.startsWith('//', i)) i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new JaasError(`${file}: unterminated comment`);
      i = end + 2;
    } else if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new JaasError(`${file}: unterminated string`);
        const d = text[i++]!;
        if (d === '"') break;
        value += d === '\\' && i < text.length ? text[i++] : d;
      }
      out.push({ kind: 'string', text: value });
    } else if ('{};='.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
    } else {
      const m = /^[^\s{};="]+/.exec(text.slice(i))!;
      out.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/** name → password from the section's DigestLoginModule `user_NAME` options. */
export function parseJaasUsers(text: string, section = 'Server', file = 'JAAS file'): Map<string, string> {
  const t = tokenize(text, file);
  let i = 0;
  const near = (tok: Token | undefined) => (tok ? ` near "${tok.text}"` : ' at the end');
  const word = (): string => {
    const tok = t[i++];
    if (!tok || tok.kind === 'punct') throw new JaasError(`${file}: expected a name${near(tok)}`);
    return tok.text;
  };
  const punct = (p: string): void => {
    const tok = t[i++];
    if (!tok || tok.kind !== 'punct' || tok.text !== p) throw new JaasError(`${file}: expected "${p}"${near(tok)}`);
  };
  const at = (p: string) => t[i]?.kind === 'punct' && t[i]!.text === p;
  const users = new Map<string, string>();
  let found = false;
  const modules: string[] = [];
  while (i < t.length) {
    const name = word();
    punct('{');
    while (i < t.length && !at('}')) {
      const module = word();
      word(); // required, requisite, sufficient or optional
      while (i < t.length && !at(';')) {
        const key = word();
        punct('=');
        const value = t[i++];
        if (!value || value.kind === 'punct') throw new JaasError(`${file}: option ${key} has no value`);
        if (name === section && module === DIGEST_MODULE && key.startsWith('user_')) users.set(key.slice('user_'.length), value.text);
      }
      punct(';');
      if (name === section) modules.push(module);
    }
    punct('}');
    if (at(';')) i++;
    if (name === section) found = true;
  }
  if (!found) throw new JaasError(`${file}: no "${section}" section`);
  if (users.size === 0) {
    throw new JaasError(`${file}: the "${section}" section has no ${DIGEST_MODULE} user_NAME="password" entries (modules: ${modules.join(', ') || 'none'}; Kerberos is not supported)`);
  }
  return users;
}

export function loadJaasUsers(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JaasError(`cannot read JAAS file ${file}: ${(err as Error).message}`);
  }
  return parseJaasUsers(text, 'Server', file);
}
