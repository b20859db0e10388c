import Link from 'next/link';

type Key = { id: string; name: string; summary: string };

/** The account's SSH keys as checkboxes (with ssh-keygen's summary of each), in a fieldset with its error. */
export function KeyPicker(props: { id: string; keys: Key[] | undefined; value: string[]; onChange: (ids: string[]) => void; error?: string; disabled?: boolean }) {
  const { id, keys, value, onChange, error, disabled } = props;
  return (
    <fieldset aria-describedby={error ? `${id}-error` : undefined} disabled={disabled}>
      <legend>SSH keys</legend>
      {keys?.length ? (
        <div className="choices">
          {keys.map((k) => (
            <label key={k.id} className="choice">
              <input type="checkbox" checked={value.includes(k.id)} onChange={(e) => onChange(e.target.checked ? [...value, k.id] : value.filter((v) => v !== k.id))} />
              <span>
                <strong>{k.name}</strong>
                <br />
                <span className="muted mono" style={{ overflowWrap: 'anywhere' }}>
                  {k.summary}
                </span>
              </span>
            </label>
          ))}
        </div>
      ) : (
        <p className="muted">
          You have no SSH keys yet: <Link href="/keys">add one</Link> to log in to your capsul.
        </p>
      )}
      {error ? (
        <p className="error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
