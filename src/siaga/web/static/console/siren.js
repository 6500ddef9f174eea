// The command-centre siren, synthesised with WebAudio (no audio files to ship or fail to load).
//
// Browsers refuse to play sound before the user has interacted with the page, so the console starts "sound off until
// clicked" and says so plainly; the first click or key press anywhere turns it on. Muting is the operator's choice
// and is remembered in this browser.

const MUTED_KEY = "siaga.console.muted";

// Wail shapes: [start Hz, peak Hz, seconds per sweep, sweeps]. Duress and escalation sound faster and higher.
const PATTERNS = {
  new: [650, 1250, 0.6, 3],
  urgent: [900, 1600, 0.25, 8],
  reminder: [650, 1000, 0.4, 1],
};
// While one pattern plays, only a more urgent one replaces it: a burst of a hundred presses is one siren, not a
// hundred overlapping ones.
const URGENCY = { reminder: 0, new: 1, urgent: 2 };

export class Siren {
  constructor() {
    this.context = null;
    this.muted = localStorage.getItem(MUTED_KEY) === "1";
    this.listeners = new Set();
    this.playing = null; // {oscillator, until, urgency}
  }

  /** True once the browser lets us play sound (after a user gesture). */
  get ready() {
    return this.context?.state === "running";
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify() {
    for (const listener of this.listeners) listener();
  }

  /** Must be called from a user gesture (click, key press). */
  async enable() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    this.context ??= new Context();
    const was = this.ready;
    try {
      await this.context.resume();
    } catch {
      // Still locked: the button stays visible and the next gesture tries again.
    }
    // Only a change is announced: every key press tries again while sound is locked, and each announcement redraws
    // the whole console.
    if (this.ready !== was) this.notify();
  }

  toggleMute() {
    this.muted = !this.muted;
    localStorage.setItem(MUTED_KEY, this.muted ? "1" : "0");
    this.notify();
  }

  /** Sound a pattern (new | urgent | reminder) if sound is enabled and not muted. */
  sound(pattern = "new") {
    if (this.muted || !this.ready) return;
    const urgency = URGENCY[pattern] ?? URGENCY.new;
    const now = this.context.currentTime;
    if (this.playing && this.playing.until > now) {
      if (this.playing.urgency >= urgency) return;
      this.playing.oscillator.stop();
    }
    const [low, high, sweep, sweeps] = PATTERNS[pattern] || PATTERNS.new;
    const start = now + 0.02;
    const end = start + sweep * sweeps;
    const oscillator = this.context.createOscillator();
    const gain = this.context.createGain();
    oscillator.type = "sawtooth";
    for (let i = 0; i < sweeps; i += 1) {
      const at = start + i * sweep;
      oscillator.frequency.setValueAtTime(low, at);
      oscillator.frequency.linearRampToValueAtTime(high, at + sweep * 0.5);
      oscillator.frequency.linearRampToValueAtTime(low, at + sweep);
    }
    // Fade in and out: a hard start or stop clicks in the speakers.
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.05);
    gain.gain.setValueAtTime(0.25, end - 0.08);
    gain.gain.exponentialRampToValueAtTime(0.0001, end);
    oscillator.connect(gain).connect(this.context.destination);
    oscillator.start(start);
    oscillator.stop(end + 0.01);
    this.playing = { oscillator, until: end, urgency };
  }
}
