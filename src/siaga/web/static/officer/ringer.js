// The ring of an offer or assignment: a two-tone alarm through WebAudio plus a vibration pattern, repeated until
// answered. Browsers let a page make sound (and vibrate) only after the user has touched it, so the audio context
// is made on the first gesture and kept for the whole session.
let audio = null;

export function unlockAudioOnFirstGesture() {
  const unlock = () => {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    audio.resume();
  };
  for (const type of ["pointerdown", "keydown", "touchend"]) {
    window.addEventListener(type, unlock, { capture: true, passive: true });
  }
}

export function soundReady() {
  return audio?.state === "running";
}

const RING_EVERY_MS = 1600;
const TONES = [880, 660, 880, 660];

function chirp(start, frequency) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = "square";
  oscillator.frequency.value = frequency;
  // Short attack and decay: a clean beep with no click, loud enough to be heard in a pocket.
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.28);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(start);
  oscillator.stop(start + 0.3);
}

export class Ringer {
  start() {
    if (this.timer) return;
    this.ring();
    this.timer = setInterval(() => this.ring(), RING_EVERY_MS);
  }

  stop() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    if (navigator.userActivation?.hasBeenActive) navigator.vibrate?.(0);
  }

  ring() {
    // Without a gesture first, Chrome refuses vibrate() and says so in the console: ask only when allowed.
    if (navigator.userActivation?.hasBeenActive) navigator.vibrate?.([500, 200, 500]);
    if (!soundReady()) return;
    const now = audio.currentTime;
    TONES.forEach((frequency, index) => chirp(now + index * 0.32, frequency));
  }
}
