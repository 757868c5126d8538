import { hexZxid, presenceConfig, senderOf, subjects, unpack, type Presence } from '@zooid/protocol';
import { quorumConfig, type AnnouncedConfig } from '@zooid/zab';
import { dropImpostor, type Logger, type NatsConnection } from '@zooid/runtime';

/** How often a joiner still waiting says what it has heard; members announce themselves once a second. */
const REPORT_MS = 5000;

/** The configuration a presence announces, or why it is unusable. */
function announced(p: Presence): AnnouncedConfig | 'none' | 'malformed' {
  // A member of a version that does not announce its voters: nothing to learn from it.
  if ((p.config as { voters?: unknown } | undefined)?.voters === undefined) return 'none';
  const c = presenceConfig(p);
  return c?.voters ? { version: c.version, voters: c.voters } : 'malformed';
}

/**
 * The configuration of the running ensemble, for a member started with
 * --join and no --ensemble: learned from the members' presence, each
 * believed only on its sender's own subject (which the bus lets no one
 * else publish on), once a quorum of a configuration's own voters announce
 * it (`quorumConfig`). It waits as long as that takes, as a member waits
 * for its peers, and says every few seconds what it has heard; undefined
 * once `stopping` aborts.
 */
export function learnEnsemble(nc: NatsConnection, cluster: string, log: Logger, stopping?: AbortSignal): Promise<AnnouncedConfig | undefined> {
  const subject = subjects(cluster).presence('member', '*');
  const heard = new Map<string, AnnouncedConfig>();
  const without = new Set<string>();
  const malformed = new Set<string>();
  log.info({ subject }, 'no configuration in the data directory and no --ensemble: learning it from the ensemble');
  return new Promise((resolve) => {
    const finish = (c: AnnouncedConfig | undefined) => {
      clearInterval(report);
      sub.unsubscribe();
      stopping?.removeEventListener('abort', stopped);
      resolve(c);
    };
    const stopped = () => finish(undefined);
    const sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const from = senderOf(msg.subject);
        let a: ReturnType<typeof announced>;
        try {
          const p = unpack<Presence | null>(msg.data);
          if (typeof p !== 'object' || p === null) a = 'malformed';
          else if (p.id !== from) return dropImpostor(log, msg.subject, { claimed: p.id });
          else a = announced(p);
        } catch {
          a = 'malformed';
        }
        if (a === 'none') return void without.add(from);
        if (a === 'malformed') {
          // Once per sender: a confused member announces every second.
          if (!malformed.has(from)) log.warn({ member: from }, 'ignored a malformed configuration announcement');
          malformed.add(from);
          return;
        }
        heard.set(from, a);
        const c = quorumConfig(heard);
        if (!c) return;
        const backers = [...heard].filter(([id, h]) => c.voters.includes(id) && h.version === c.version).map(([id]) => id);
        log.info({ version: hexZxid(c.version), voters: c.voters, from: backers }, 'learned the configuration from the ensemble');
        finish(c);
      },
    });
    const report = setInterval(() => {
      if (heard.size === 0 && without.size === 0) {
        log.warn({ subject, waitedMs: REPORT_MS }, 'no member of the ensemble announced itself: still waiting (is it running, on this bus, with this --cluster?)');
      } else {
        const announcements = Object.fromEntries([...heard].map(([id, c]) => [id, `${hexZxid(c.version)} ${c.voters.join(',')}`]));
        log.warn({ announcements, withoutVoters: [...without] }, 'no configuration is announced by a quorum of its voters yet: still waiting');
      }
    }, REPORT_MS);
    if (stopping?.aborted) return stopped();
    stopping?.addEventListener('abort', stopped);
  });
}
