/* Voice recording (issue 20): record, listen back, record again, keep -- with the
   standard MediaRecorder, on top of the file input #voice that works without script (the
   phone records through accept="audio/*" capture). A kept clip is put into that input,
   so it is sent with the form like any file. It lives only in this page's memory: no
   IndexedDB, no localStorage; quick exit or leaving the page stops the microphone and
   drops it at once. */
(function () {
  "use strict";
  var box = document.getElementById("recorder"), input = document.getElementById("voice");
  var md = navigator.mediaDevices;
  if (!box || !input || !window.MediaRecorder || !md || !md.getUserMedia || !window.DataTransfer) { return; }
  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
  var max = parseInt(input.getAttribute("data-max"), 10) || 0;
  var stream = null, rec = null, parts = [], size = 0, clip = null, url = null, timer = null, started = 0;
  function t(k) { return box.getAttribute("data-" + k) || ""; }
  function el(tag, id, text, cls) {
    var e = document.createElement(tag);
    e.id = id;
    if (text) { e.textContent = text; }
    if (cls) { e.className = cls; }
    box.appendChild(e);
    return e;
  }
  var status = el("p", "voice-status", "", "hint");
  status.setAttribute("aria-live", "polite");
  var record = el("button", "voice-record", t("record")), stop = el("button", "voice-stop", t("stop"));
  var phones = el("p", "voice-phones", t("phones"), "hint"), player = el("audio", "voice-player");
  var again = el("button", "voice-again", t("again"), "alt"), keep = el("button", "voice-keep", t("keep"));
  player.controls = true;
  player.setAttribute("aria-label", t("listen"));  /* the player's own accessible name */
  [record, stop, again, keep].forEach(function (b) { b.type = "button"; });
  function state(s) {
    var on = { record: s === "idle", stop: s === "recording", phones: s === "recorded", player: s === "recorded",
               again: s === "recorded" || s === "kept", keep: s === "recorded" };
    [[record, "record"], [stop, "stop"], [phones, "phones"], [player, "player"], [again, "again"], [keep, "keep"]]
      .forEach(function (p) { p[0].style.display = on[p[1]] ? "" : "none"; });
    box.setAttribute("data-state", s);
  }
  function release() {
    clearInterval(timer);
    if (stream) { stream.getTracks().forEach(function (tr) { tr.stop(); }); stream = null; }
  }
  function drop() {
    var r = rec;
    rec = null;
    if (r) { r.ondataavailable = null; r.onstop = null; if (r.state !== "inactive") { r.stop(); } }
    release();
    parts = []; size = 0; clip = null;
    player.removeAttribute("src");
    if (url) { URL.revokeObjectURL(url); url = null; }
  }
  function tick() {
    var s = Math.floor((Date.now() - started) / 1000);
    status.textContent = t("recording") + " " + Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }
  function start() {
    drop();
    input.value = "";
    status.textContent = "";
    md.getUserMedia({ audio: true }).then(function (s) {
      var type = TYPES.filter(function (x) { return MediaRecorder.isTypeSupported(x); })[0];
      var r = type ? new MediaRecorder(s, { mimeType: type }) : new MediaRecorder(s);
      stream = s; rec = r;
      r.ondataavailable = function (e) {
        if (e.data && e.data.size) { parts.push(e.data); size += e.data.size; }
        if (max && size > max * 0.95 && r.state === "recording") { r.stop(); }  /* stay under the file limit */
      };
      r.onstop = function () {
        release();
        clip = new Blob(parts, { type: r.mimeType || "audio/webm" });
        url = URL.createObjectURL(clip);
        player.src = url;
        status.textContent = "";
        state("recorded");
      };
      r.start(1000);
      started = Date.now();
      tick();
      timer = setInterval(tick, 1000);
      state("recording");
    }, function () { release(); status.textContent = t("denied"); state("idle"); });
  }
  record.addEventListener("click", start);
  again.addEventListener("click", start);
  stop.addEventListener("click", function () { if (rec && rec.state !== "inactive") { rec.stop(); } });
  keep.addEventListener("click", function () {
    if (!clip) { return; }
    var ext = /ogg/.test(clip.type) ? "ogg" : (/mp4/.test(clip.type) ? "m4a" : "webm");
    var dt = new DataTransfer();
    dt.items.add(new File([clip], "recording." + ext, { type: clip.type }));
    input.files = dt.files;
    player.removeAttribute("src");
    if (url) { URL.revokeObjectURL(url); url = null; }
    status.textContent = t("kept");
    state("kept");
  });
  function gone() { drop(); input.value = ""; state("idle"); }
  document.addEventListener("backup:exit", gone);
  window.addEventListener("pagehide", gone);
  state("idle");
}());
