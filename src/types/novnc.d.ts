// @novnc/novnc ships no types; the console uses its RFB class only (graphical-console.tsx types what it calls).
declare module '@novnc/novnc' {
  const RFB: unknown;
  export default RFB;
}
