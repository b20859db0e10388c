'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { LIMITS } from '~/components/format';
import type { Limits } from '~/hub/limits';
import { useTRPC } from '~/trpc/react';

type Texts = Record<keyof Limits, string>;

const EMPTY: Texts = { capsuls: '', vcpus: '', memoryMb: '', diskGb: '' };
const textsOf = (limits: Partial<Limits> | null | undefined): Texts => ({
  capsuls: limits?.capsuls?.toString() ?? '',
  vcpus: limits?.vcpus?.toString() ?? '',
  memoryMb: limits?.memoryMb?.toString() ?? '',
  diskGb: limits?.diskGb?.toString() ?? '',
});
// An empty box removes the limit; anything else goes to the hub as a number, which says what is wrong with it.
const valueOf = (text: string) => (text.trim() === '' ? null : Number(text));

/**
 * The four limits of the default (no `account`) or of one account. `empty` says what an empty box means.
 * Messages are compared with the text as it was sent, so each goes as soon as its box is changed.
 */
function LimitsForm(props: { account?: string; initial: Texts; empty: string; submit: string; onSaved: () => void; idPrefix: string }) {
  const trpc = useTRPC();
  const [texts, setTexts] = useState<Texts>(props.initial);
  const [email, setEmail] = useState(props.account ?? '');
  const [sent, setSent] = useState<Record<string, string>>();
  const set = useMutation(trpc.limits.set.mutationOptions({ onSuccess: props.onSaved }));
  const withAccount = props.account !== undefined;
  const now = { ...texts, ...(withAccount ? { account: email } : {}) };
  const errors = fieldErrors(set.error, sent, now);
  const id = (name: string) => `${props.idPrefix}-${name}`;
  return (
    <form
      className="stack card"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setSent(now);
        set.mutate({
          ...(withAccount ? { account: email } : {}),
          capsuls: valueOf(texts.capsuls),
          vcpus: valueOf(texts.vcpus),
          memoryMb: valueOf(texts.memoryMb),
          diskGb: valueOf(texts.diskGb),
        });
      }}
    >
      {withAccount ? (
        <Field id={id('account')} label="Account email" error={errors.account}>
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} {...controlProps(id('account'), errors.account)} />
        </Field>
      ) : null}
      <div className="filters">
        {LIMITS.map(({ name, label }) => (
          <Field key={name} id={id(name)} label={`${label}${name === 'memoryMb' ? ' (MiB)' : name === 'diskGb' ? ' (GiB)' : ''}`} error={errors[name]}>
            <input
              type="text"
              inputMode="numeric"
              placeholder={props.empty}
              value={texts[name]}
              onChange={(e) => setTexts({ ...texts, [name]: e.target.value })}
              {...controlProps(id(name), errors[name])}
            />
          </Field>
        ))}
      </div>
      <p className="muted">An empty box: {props.empty}.</p>
      {errors.form ? (
        <p className="notice bad" role="alert">
          {errors.form}
        </p>
      ) : null}
      {set.isSuccess && !set.isPending ? (
        <p className="notice good" role="status">
          Saved.
        </p>
      ) : null}
      <div>
        <button type="submit" disabled={set.isPending}>
          {props.submit}
        </button>
      </div>
    </form>
  );
}

export function LimitsManager() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.limits.list.queryOptions());
  const changed = () => queryClient.invalidateQueries({ queryKey: trpc.limits.list.queryKey() });
  const clear = useMutation(trpc.limits.clear.mutationOptions({ onSuccess: changed }));
  // Editing an account's limits fills the form below with them (a new key makes a new form).
  const [editing, setEditing] = useState<{ account: string; texts: Texts }>({ account: '', texts: EMPTY });
  if (!list.data) return null;
  const { defaults, accounts } = list.data;

  return (
    <>
      <h2>For every account</h2>
      <LimitsForm idPrefix="default" initial={textsOf(defaults)} empty="no limit" submit="Save the default" onSaved={changed} />

      <h2>Accounts with limits of their own</h2>
      {accounts.length ? (
        <table className="stack">
          <thead>
            <tr>
              <th scope="col">Account</th>
              {LIMITS.map(({ name, label }) => (
                <th key={name} scope="col">
                  {label}
                </th>
              ))}
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={a.account} data-account={a.account}>
                <td data-label="Account">{a.account}</td>
                {LIMITS.map(({ name, label, amount }) => {
                  const allowed = a.limits[name];
                  return (
                    <td key={name} data-label={label}>
                      {amount(a.usage[name])} of {allowed === null ? 'no limit' : amount(allowed)}
                      {a.own[name] === null ? <span className="muted"> (default)</span> : null}
                    </td>
                  );
                })}
                <td data-label="Actions">
                  <div className="actions">
                    <button type="button" className="secondary" onClick={() => setEditing({ account: a.account, texts: textsOf(a.own) })}>
                      Edit
                    </button>
                    <button type="button" className="secondary" onClick={() => clear.mutate({ account: a.account })}>
                      Back to the default
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="card empty">No account has limits of its own.</p>
      )}
      {clear.error ? (
        <p className="error" role="alert">
          {clear.error.message}
        </p>
      ) : null}

      <h2>Set an account&apos;s limits</h2>
      <LimitsForm
        key={editing.account}
        idPrefix="account"
        account={editing.account}
        initial={editing.texts}
        empty="the default's"
        submit="Save for this account"
        onSaved={changed}
      />
    </>
  );
}
