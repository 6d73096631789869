/* Resumable uploads for the files step: a minimal tus 1.0 client (core protocol, creation,
   termination; https://tus.io/protocols/resumable-upload). exit.js loads it only once a
   file is chosen. tus-js-client's browser bundle (86,773 bytes minified, 4.3.1) alone is
   over the step's 60 KB budget; this needs a few kilobytes.
   Each file is created on the server, then sent in one PATCH from the server's offset.
   When the connection drops or stalls, the client waits, asks where the file stands (HEAD)
   and sends the rest: the server counts only whole sealed chunks, so a torn chunk is sent
   again. Nothing is kept in the browser (no storage): leaving the page ends the upload.
   Without JavaScript the form posts the files as before. */
(function () {
  "use strict";
  var input = document.querySelector("input[type=file][data-tus]");
  if (!input || !window.XMLHttpRequest || !window.DOMParser) { return; }
  var form = input.form, note = document.getElementById("files-status");
  if (!form || !note || !form.elements.csrf || input.hasAttribute("data-posting")) { return; }
  input.setAttribute("data-ready", "");
  var endpoint = input.getAttribute("data-tus"), csrf = form.elements.csrf.value;
  var STALL_MS = 60000, sending = false, failed = false, asked = false, submitter = null;

  function say(key, name, pct) {
    note.textContent = (note.getAttribute("data-" + key) || "")
      .replace("%(name)s", name || "").replace("%(percent)s", pct || "0");
  }
  function call(method, url, headers, body, progress, done) {
    var x = new XMLHttpRequest(), timer = null, over = false;
    function finish(ok) {
      if (over) { return; }
      over = true; clearTimeout(timer); done(ok ? x : null);
    }
    function stall() { clearTimeout(timer); timer = setTimeout(function () { x.abort(); }, STALL_MS); }
    x.open(method, url);
    x.setRequestHeader("Tus-Resumable", "1.0.0");
    x.setRequestHeader("X-CSRF-Token", csrf);
    Object.keys(headers).forEach(function (k) { x.setRequestHeader(k, headers[k]); });
    if (x.upload) {
      x.upload.onprogress = function (e) { stall(); if (progress) { progress(e.loaded); } };
    }
    x.onload = function () { finish(true); };
    x.onerror = x.onabort = x.ontimeout = function () { finish(false); };
    stall();
    x.send(body);
  }
  /* the server's error page says what went wrong, in the reporter's language */
  function reason(x) {
    var doc = new DOMParser().parseFromString(x.responseText || "", "text/html");
    var p = doc.querySelector("main h1 + p");
    return p ? p.textContent : "";
  }
  function b64(s) { return window.btoa(unescape(encodeURIComponent(s))); }

  function sendFile(file, next) {
    var url = null, offset = 0, delay = 1000;
    function retry(how) {
      say("retry", file.name);
      setTimeout(how, delay);
      delay = Math.min(delay * 2, 30000);
    }
    function refused(x) {
      failed = true;
      note.textContent = reason(x) || note.getAttribute("data-failed");
      next();
    }
    function create() {
      call("POST", endpoint, { "Upload-Length": String(file.size),
        "Upload-Metadata": "filename " + b64(file.name) }, null, null, function (x) {
        if (x && x.status === 201) { url = x.getResponseHeader("Location"); offset = 0; patch(); }
        else if (x && x.status >= 400 && x.status < 500 && x.status !== 429) { refused(x); }
        else { retry(create); }
      });
    }
    function locate() {
      call("HEAD", url, {}, null, null, function (x) {
        if (x && x.status === 200) { offset = parseInt(x.getResponseHeader("Upload-Offset"), 10); patch(); }
        else if (x && x.status === 404) { create(); } /* expired or gone: start again */
        else { retry(locate); }
      });
    }
    function patch() {
      say("sending", file.name, String(Math.floor(100 * offset / file.size)));
      call("PATCH", url, { "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": String(offset) }, file.slice(offset), function (sent) {
        say("sending", file.name, String(Math.floor(100 * Math.min(file.size, offset + sent) / file.size)));
      }, function (x) {
        if (x && x.status === 204) {
          offset = parseInt(x.getResponseHeader("Upload-Offset"), 10);
          delay = 1000;
          if (offset >= file.size) { next(); } else { patch(); }
        } else if (x && (x.status === 409 || x.status === 423)) { retry(locate); }
        else if (x && x.status >= 400 && x.status < 500 && x.status !== 429) { refused(x); }
        else { retry(locate); }
      });
    }
    create();
  }

  function start() {
    var files = Array.prototype.slice.call(input.files || []), i = 0;
    if (!files.length || sending) { return; }
    sending = true; failed = false;
    input.disabled = true;
    (function next() {
      if (i < files.length) { sendFile(files[i++], next); return; }
      sending = false;
      input.value = "";
      input.disabled = false;
      if (failed) { return; }
      say("done");
      /* "Next" was pressed while sending: go on as asked, the files are already there.
         Otherwise the page stays as it is (no reload under the reporter's hands); the
         list of files shows them on the next page load. */
      if (asked && form.requestSubmit) { form.requestSubmit(submitter); }
    }());
  }
  input.addEventListener("change", start);
  form.addEventListener("submit", function (e) {
    if (sending) { e.preventDefault(); asked = true; submitter = e.submitter || null; say("wait"); }
  });
  start();
}());
