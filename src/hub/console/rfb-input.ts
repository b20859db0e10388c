// What counts as a person's input on the graphical console, for the idle close. noVNC asks QEMU for the next
// screen update every time one arrives (a blinking cursor sends one a second), so RFB bytes alone would keep
// an unattended screen open for ever. A frame holding only FramebufferUpdateRequests (client message type 3,
// 10 bytes each) is the viewer's, not the person's; keys, pointer, clipboard and the handshake are input.
const UPDATE_REQUEST = 3;
const UPDATE_REQUEST_BYTES = 10;

export function isPersonInput(frame: Buffer): boolean {
  if (frame.length === 0 || frame.length % UPDATE_REQUEST_BYTES !== 0) return true;
  for (let at = 0; at < frame.length; at += UPDATE_REQUEST_BYTES) if (frame[at] !== UPDATE_REQUEST) return true;
  return false;
}
