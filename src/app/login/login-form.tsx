'use client';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { fieldErrors } from '~/components/errors';
import { controlProps, Field } from '~/components/field';
import { useTRPC } from '~/trpc/react';

export function LoginForm() {
  const trpc = useTRPC();
  const [email, setEmail] = useState('');
  const request = useMutation(trpc.auth.requestLink.mutationOptions());
  const errors = fieldErrors(request.error, request.variables, { email });
  if (request.isSuccess) {
    return (
      <div className="notice good" role="status">
        <p>
          We sent a sign-in link to <strong>{request.variables.email}</strong>. It works once, for 15 minutes.
        </p>
        <button type="button" className="link" onClick={() => request.reset()}>
          Use another address
        </button>
      </div>
    );
  }
  return (
    <form
      className="stack"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        request.mutate({ email });
      }}
    >
      <p className="muted">No password: we mail you a link that signs you in.</p>
      <Field id="email" label="Email address" error={errors.email}>
        <input type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} {...controlProps('email', errors.email)} />
      </Field>
      {errors.form ? (
        <p className="notice bad" role="alert">
          {errors.form}
        </p>
      ) : null}
      <div>
        <button type="submit" disabled={request.isPending}>
          {request.isPending ? 'Sending…' : 'Mail me a sign-in link'}
        </button>
      </div>
    </form>
  );
}
