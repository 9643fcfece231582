// The dashboard's event stream: `<page>/events` (Server-Sent Events), and the
// acknowledgements the server needs to keep it open.
//
// The server ends a stream whose page has not acknowledged an event within `ack_ms`
// (the `stream` event, first on every stream, gives it and the stream's id), so a frozen
// tab holds no dashboard place. Acknowledgements go from event handlers, one every 2 s
// (every `ack_ms / 4` if shorter), to `<page>/events/ack?stream=<id>&seen=<last event id>`,
// so a hidden tab's throttled timers matter little. Both URLs are relative to the page,
// so it works under any prefix or mount point, with the same credentials.
function openStream(location, on) {
  const base = location.pathname.replace(/\/+$/, "") + "/events";
  const ack = { stream: null, every: 2000, seen: null, sent: null, lastAt: 0, timer: 0, busy: false };
  let source = null;

  // EventSource reconnects by itself after a dropped connection; after a refusal (503
  // when too many dashboards are open) it gives up, so retry by hand.
  function connect() {
    source = new EventSource(base + location.search);
    source.addEventListener("open", on.open);
    source.addEventListener("error", () => {
      on.lost();
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
    source.addEventListener("stream", (event) => {
      const message = JSON.parse(event.data);
      clearTimeout(ack.timer);
      Object.assign(ack, { stream: message.stream, every: Math.min(2000, message.ack_ms / 4), seen: null, sent: null, timer: 0 });
      on.stream(message.stream);
      received(event);
    });
    source.addEventListener("schema", (event) => on.schema(JSON.parse(event.data)));
    source.addEventListener("sample", (event) => {
      received(event);
      on.sample(JSON.parse(event.data));
    });
  }

  function received(event) {
    if (ack.stream === null || event.lastEventId === "") return;
    ack.seen = event.lastEventId;
    schedule();
  }

  function schedule() {
    if (ack.timer || ack.busy || ack.seen === ack.sent) return;
    const wait = ack.lastAt + ack.every - Date.now();
    if (wait <= 0) send();
    else ack.timer = setTimeout(() => { ack.timer = 0; send(); }, wait);
  }

  function send() {
    if (ack.busy || ack.seen === ack.sent) return;
    const { stream, seen } = ack;
    const params = new URLSearchParams(location.search);
    params.set("stream", stream);
    params.set("seen", seen);
    ack.busy = true;
    ack.lastAt = Date.now();
    fetch(base + "/ack?" + params, { method: "POST", cache: "no-store", credentials: "same-origin" })
      .then((response) => {
        if (stream !== ack.stream) return;
        if (response.ok) {
          ack.sent = seen;
          on.acked();
        } else if (response.status === 404) {
          // The server has dropped this stream: open a new one now rather than wait for
          // the old connection to notice.
          ack.stream = null;
          source.close();
          connect();
        }
      })
      .catch(() => {}) // the stream's own error event reports a lost server
      .finally(() => {
        ack.busy = false;
        if (stream === ack.stream) schedule();
      });
  }

  connect();
}
