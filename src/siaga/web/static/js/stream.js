// A live stream that keeps itself connected: it remembers the cursor of the last event and resumes from it, so
// nothing is missed and nothing arrives twice, whatever the network does.
import { streamUrl } from "./api.js";

export class LiveStream {
  /**
   * @param {string} name console | officer | resident
   * @param {() => string | null} token returns the current session token
   * @param {{onMessage: (m: object) => void, onState?: (s: string) => void}} handlers
   */
  constructor(name, token, { onMessage, onState = () => {} }) {
    this.name = name;
    this.token = token;
    this.onMessage = onMessage;
    this.onState = onState;
    this.cursor = null;
    this.socket = null;
    this.closed = false;
    this.retry = 500;
    this.state = "connecting";
  }

  start() {
    this.closed = false;
    this.connect();
    return this;
  }

  stop() {
    this.closed = true;
    this.socket?.close();
  }

  /** Send a message to the server now; false when the stream is not open (the caller keeps it for later). */
  send(message) {
    if (this.state !== "open" || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }

  take(message) {
    if (message.type === "alert_event" || message.type === "alert_status") {
      if (this.cursor !== null && message.cursor <= this.cursor && message.type === "alert_event") return;
      this.cursor = Math.max(this.cursor ?? 0, message.cursor);
    }
    if (message.type === "hello" && this.cursor === null) this.cursor = message.cursor;
    this.onMessage(message);
  }

  connect() {
    const token = this.token();
    if (!token || this.closed) return;
    this.setState("connecting");
    const socket = new WebSocket(streamUrl(this.name, token, this.cursor));
    this.socket = socket;
    socket.onopen = () => {
      this.retry = 500;
      this.setState("open");
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      // A "batch" carries what was waiting for this client, in order: each is taken as if it came alone, and one
      // that the page fails to apply does not cost the others theirs.
      for (const message of frame.type === "batch" ? frame.messages : [frame]) {
        try {
          this.take(message);
        } catch (error) {
          console.error("stream message not applied", message, error);
        }
      }
    };
    socket.onclose = (event) => {
      if (this.closed) return this.setState("closed");
      if (event.code === 4401 || event.code === 4403) return this.setState("refused");
      this.setState("reconnecting");
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 10000);
    };
  }
}
