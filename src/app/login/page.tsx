import type { Metadata } from 'next';
import { LoginForm } from './login-form';

export const metadata: Metadata = { title: 'Sign in' };

export default function LoginPage() {
  return (
    <main id="main" className="narrow">
      <h1>Sign in to Capsul</h1>
      <div className="card">
        <LoginForm />
      </div>
    </main>
  );
}
