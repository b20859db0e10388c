'use client';
import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { fieldErrors, type FieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { KeyPicker } from '~/components/key-picker';
import { SizeChoices } from '~/components/size-choices';
import { useTRPC } from '~/trpc/react';

/** Turns the hub's reasons into what the person can do about them. */
function advice(message: string): string {
  if (/no host is online/.test(message)) return 'No host is online right now. Try again in a few minutes, or tell the operator.';
  if (/not enough room/.test(message)) return 'No host has room for this size right now. Pick a smaller size, or try again later.';
  if (/is not in .* on this host/.test(message)) return 'No host has this image yet. Pick another image, or tell the operator.';
  return message;
}

/** Under the image: whether a host has it (and room for the size), as the hosts said with their heartbeats. */
function imageHint(state: { available: boolean; problem?: string; reason?: string } | undefined, sized: boolean): string | undefined {
  if (!state) return undefined;
  if (state.available) return sized ? 'A host has this image and room for this size.' : 'A host has this image.';
  if (state.problem === 'no_host_online') return 'No host is online right now. Try again in a few minutes, or tell the operator.';
  if (state.problem === 'no_room') return 'No host with this image has room for this size right now. Pick a smaller size, or try again later.';
  return `No online host has this image${state.reason ? ` (${state.reason})` : ''}.`;
}

export function CreateForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const catalog = useQuery(trpc.catalog.list.queryOptions());
  const keys = useQuery(trpc.sshKey.list.queryOptions());
  // A free name is suggested (asked once: it must not change under the person's eyes); they may type another.
  const suggested = useQuery({ ...trpc.capsul.suggestName.queryOptions(), staleTime: Infinity });
  const [name, setName] = useState<string | undefined>(undefined);
  const [size, setSize] = useState('');
  const [image, setImage] = useState('');
  const [keyIds, setKeyIds] = useState<string[]>([]);
  // Set by pressing Create: from then on an empty size or image says so, until it is picked.
  const [tried, setTried] = useState(false);
  // Per image (and for the size, once one is picked): whether an online host has it and room, before Create.
  const capacity = useQuery({ ...trpc.capsul.capacity.queryOptions({ size: size || undefined }), staleTime: 10_000 });
  const create = useMutation(trpc.capsul.create.mutationOptions({ onSuccess: (r) => router.push(`/capsuls/${r.capsulId}`) }));
  const nameNow = (name ?? suggested.data ?? '').trim() || undefined;
  const errors: FieldErrors = {
    ...fieldErrors(create.error, create.variables, { name: nameNow, size, image, sshKeyIds: keyIds }),
    ...(tried && !size ? { size: 'Pick a size.' } : {}),
    ...(tried && !image ? { image: 'Choose an image.' } : {}),
  };
  const sizes = catalog.data?.sizes ?? [];
  const images = catalog.data?.images ?? [];
  const imageState = (id: string) => capacity.data?.images.find((i) => i.id === id);
  const picked = image ? imageState(image) : undefined;

  return (
    <form
      className="stack card"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        // Left empty, the hub picks a free name.
        if (size && image) create.mutate({ name: nameNow, size, image, sshKeyIds: keyIds });
      }}
    >
      <Field id="name" label="Name" error={errors.name} hint="Lowercase letters, digits and dashes; yours to change later.">
        <input type="text" value={name ?? suggested.data ?? ''} onChange={(e) => setName(e.target.value)} autoComplete="off" {...controlProps('name', errors.name, true)} />
      </Field>

      <fieldset aria-describedby={errors.size ? 'size-error' : undefined}>
        <legend>Size</legend>
        <SizeChoices name="size" sizes={sizes} value={size} onChange={setSize} />
        {errors.size ? (
          <p className="error" id="size-error" role="alert">
            {errors.size}
          </p>
        ) : null}
        <p aria-live="polite" className={capacity.data && !capacity.data.available ? 'error' : 'muted'}>
          {!size
            ? 'Pick a size to see whether a host has room for it.'
            : capacity.isFetching && !capacity.data
              ? 'Checking for room…'
              : capacity.error
                ? advice(capacity.error.message)
                : capacity.data?.available
                  ? 'A host has room for this size.'
                  : 'No host has room for this size right now. Pick a smaller size, or try again later.'}
        </p>
      </fieldset>

      <Field id="image" label="Image" error={errors.image}>
        <select value={image} onChange={(e) => setImage(e.target.value)} {...controlProps('image', errors.image)}>
          <option value="">Choose an image…</option>
          {images.map((i) => (
            // An image no online host has reaches admins only, disabled, saying why.
            <option key={i.id} value={i.id} disabled={!!i.unavailable}>
              {i.name}
              {i.unavailable ? ` — unavailable: ${i.unavailable}` : imageState(i.id)?.problem === 'no_room' ? ' — no room for this size' : ''}
            </option>
          ))}
        </select>
        <p aria-live="polite" className={picked && !picked.available ? 'error' : 'muted'} data-testid="image-availability">
          {image ? imageHint(picked, !!size) : null}
        </p>
      </Field>

      <KeyPicker id="keys" keys={keys.data} value={keyIds} onChange={setKeyIds} error={errors.sshKeyIds} />

      {errors.form ? (
        <div className="notice bad" role="alert">
          {advice(errors.form)}
        </div>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create capsul'}
        </button>
        <Link className="button secondary" href="/capsuls">
          Cancel
        </Link>
      </div>
    </form>
  );
}
