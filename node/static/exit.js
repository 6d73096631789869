/* Quick exit, after the GOV.UK "Exit this page" component (docs/notes/reporter-pages.md).
   Without JavaScript the link still works. With it: hide everything at once (useful on a
   slow link), replace this history entry, and answer to Shift pressed three times (each
   within 5 s) or to Escape. */
(function () {
  "use strict";
  var link = document.getElementById("exit");
  if (!link) { return; }
  var count = 0, timer = null;
  var live = document.getElementById("exit-status");
  function leave(e) {
    if (e) { e.preventDefault(); }
    /* first of all, a recording in progress stops and is dropped (voice.js) */
    document.dispatchEvent(new Event("backup:exit"));
    document.body.className += " hidden-all";
    document.title = "";
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { leave(e); return; }
    /* Only deliberate, separate presses of Shift alone count: holding it down (auto-repeat)
       or using it to type a capital letter does not. */
    if (e.key !== "Shift" || e.repeat || e.ctrlKey || e.altKey || e.metaKey) { count = 0; return; }
    count += 1;
    clearTimeout(timer);
    timer = setTimeout(function () { count = 0; }, 5000);
    if (live) { live.textContent = count < 3 ? (live.getAttribute("data-more") || "").replace("%d", String(3 - count)) : ""; }
    if (count >= 3) { leave(e); }
  });
  /* Tell the reporter before upload when a file is over the limit, so a slow link is not
     spent on a file that will be refused. The server checks again. */
  var inputs = document.querySelectorAll("input[type=file][data-max]");
  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("change", function () {
      var max = parseInt(input.getAttribute("data-max"), 10), note = document.getElementById(input.id + "-check");
      var big = Array.prototype.filter.call(input.files || [], function (f) { return f.size > max; });
      if (note) { note.textContent = big.length ? (note.getAttribute("data-msg") || "") + " " + big.map(function (f) { return f.name; }).join(", ") : ""; }
    });
  });
  /* The files step sends files resumably (static/upload.js, issue 20); its client is
     loaded only once a file is chosen, so that no other page pays for it. */
  var tus = document.querySelector("input[type=file][data-tus]");
  function loadTus() {
    tus.removeEventListener("change", loadTus);
    var s = document.createElement("script");
    s.src = "/static/upload.js";
    document.head.appendChild(s);
  }
  if (tus && tus.form) {
    tus.addEventListener("change", loadTus);
    /* posted before the client is ready: the form sends the files, the client stays off */
    tus.form.addEventListener("submit", function () {
      if (!tus.hasAttribute("data-ready")) { tus.setAttribute("data-posting", ""); }
    });
  }
}());
