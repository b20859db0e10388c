export default function Home() {
  return <main><h1>Capsul</h1></main>;
}
