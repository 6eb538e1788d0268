import type { ReactNode } from 'react';
import type { GuestAgentInfo, VmSummary } from '../../../../../common/contract';
import { formatDuration } from '../../../../../common/format';
import { CopyCommand } from '../../../components/CopyCommand';
import { Icon } from '../../../components/Icon';
import { useNow } from '../../../hooks/use-now';
import { guestPhase } from '../../../lib/guest';

/**
 * The guest as seen from outside, for a VM made from a cloud image or one with a guest agent:
 * while it boots, how long it has been at it; once SSH (or the agent) answers, "Ready in 48 s",
 * the ssh command to copy and what the agent reports (OS, addresses, host name).
 */
export function GuestCard({ vm, active }: { vm: VmSummary; active: boolean }) {
  const { config: c, runtime: r, guest: g } = vm;
  const phase = guestPhase(vm);
  const startedAt = r.startedAt ? Date.parse(r.startedAt) : NaN;
  const now = useNow(1000, active && phase === 'booting' && !Number.isNaN(startedAt));
  if (phase === null) return null;
  const user = g?.ssh?.user ?? c.cloudInit?.user ?? null;

  return (
    <section className="card card--guest" data-testid="guest-card" data-phase={phase}>
      <h2 className="card__title">
        <Icon name="terminal" size={16} />
        Guest
      </h2>

      {phase === 'booting' ? (
        <div className="guest-line guest-line--booting" data-testid="guest-booting">
          <span className="spinner spinner--small" aria-hidden="true" />
          <div>
            <p className="guest-line__head">
              Booting…{' '}
              {c.cloudInit
                ? 'first boot configures the guest (cloud-init)'
                : 'waiting for the guest to answer'}
            </p>
            <p className="muted">
              {!Number.isNaN(startedAt) ? `${formatDuration(now - startedAt)} so far. ` : ''}
              {c.cloudInit
                ? 'The ssh command appears here as soon as the guest answers.'
                : 'Its guest agent reports the OS and addresses once it runs.'}
            </p>
          </div>
        </div>
      ) : phase === 'ready' && g ? (
        <div className="guest-line guest-line--ready" data-testid="guest-ready">
          <span className="guest-line__badge" aria-hidden="true">
            <Icon name="check" size={16} />
          </span>
          <div>
            <p className="guest-line__head">
              {g.readySeconds !== null
                ? `Ready in ${formatDuration(g.readySeconds * 1000)}`
                : 'Ready'}
            </p>
            <p className="muted">
              {g.via === 'agent' ? 'The guest agent answered' : 'SSH answered'}
              {g.readyAt ? ` at ${new Date(g.readyAt).toLocaleTimeString()}` : ''}.
            </p>
          </div>
        </div>
      ) : (
        <p className="muted guest-off" data-testid="guest-off">
          {phase === 'paused'
            ? 'Paused: the guest answers again once resumed.'
            : c.cloudInit
              ? `Made from a cloud image for ${c.cloudInit.user}: start it, and the ssh command appears here once it answers.`
              : 'Its guest agent reports the OS and addresses while it runs.'}
        </p>
      )}

      {g?.ssh && phase === 'ready' ? (
        <div className="guest-ssh">
          <CopyCommand text={g.ssh.command} label="SSH command" />
          <p className="muted guest-ssh__note">
            Or <code>vivarium ssh {shellWord(vm.name)}</code>, which uses the VM’s own key.
          </p>
        </div>
      ) : null}

      <dl className="facts guest-facts">
        {user ? (
          <Fact label="Login">
            <span className="mono">{user}</span>
            {c.cloudInit ? (
              <span className="muted">
                {' '}
                · {loginWays(c.cloudInit.userKeys, c.cloudInit.password)}
              </span>
            ) : null}
          </Fact>
        ) : null}
        {g?.ssh ? (
          <Fact label="SSH">
            {g.ssh.host}:{g.ssh.port} <span className="muted">→ guest port 22</span>
          </Fact>
        ) : null}
        {g?.agent ? <AgentFacts agent={g.agent} /> : null}
        {!g?.agent && c.cloudInit ? (
          <Fact label="Host name">
            <span className="mono">{c.cloudInit.hostname}</span>
          </Fact>
        ) : null}
      </dl>
    </section>
  );
}

function AgentFacts({ agent }: { agent: GuestAgentInfo }) {
  const os = agent.os;
  const osName = os ? (os.prettyName ?? [os.name, os.version].filter(Boolean).join(' ')) : null;
  return (
    <>
      {osName ? (
        <Fact label="OS">
          {osName}
          {os?.kernel ? <span className="muted"> · kernel {os.kernel}</span> : null}
        </Fact>
      ) : null}
      {agent.hostname ? (
        <Fact label="Host name">
          <span className="mono">{agent.hostname}</span>
        </Fact>
      ) : null}
      <Fact label="Addresses">
        {agent.addresses.length ? (
          <ul className="plain-list" data-testid="guest-addresses">
            {agent.addresses.map((a) => (
              <li key={a} className="mono">
                {a}
              </li>
            ))}
          </ul>
        ) : (
          <span className="muted">None reported yet</span>
        )}
      </Fact>
    </>
  );
}

function loginWays(userKeys: boolean, password: boolean): string {
  const ways = [userKeys ? 'your SSH keys' : null, password ? 'a password' : null].filter(
    (w): w is string => w !== null,
  );
  return ways.length ? `with ${ways.join(' or ')}` : 'with the VM’s own key';
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** A VM name as a POSIX shell reads it back. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
