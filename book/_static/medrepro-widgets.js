/* medrepro: when the ipywidgets script cannot load (offline, blocked), show each widget's static figure —
   the images its Output widgets held when the notebook ran, read from the page's saved widget state —
   with a note, instead of an empty gap. Self-written, no dependency; does nothing on pages without
   widgets. Code: MIT. */
(function () {
  "use strict";
  var VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]';
  var STATE = 'script[type="application/vnd.jupyter.widget-state+json"]';
  var WAIT_MS = 4000; // how long the widget manager gets to render before the fallback is shown

  function readState() {
    var tag = document.querySelector(STATE);
    if (!tag) return {};
    try { return JSON.parse(tag.textContent).state || {}; } catch (e) { return {}; }
  }

  // Images (and, failing that, text) that a widget and its children displayed, depth first.
  function staticOutputs(state, id, seen, out) {
    if (!id || seen[id] || !state[id]) return out;
    seen[id] = true;
    var model = state[id].state || {};
    (model.outputs || []).forEach(function (o) {
      var data = o.data || {};
      if (data["image/png"]) out.push({ img: "data:image/png;base64," + String(data["image/png"]).replace(/\s/g, "") });
      else if (data["image/jpeg"]) out.push({ img: "data:image/jpeg;base64," + String(data["image/jpeg"]).replace(/\s/g, "") });
      else if (data["image/svg+xml"]) out.push({ img: "data:image/svg+xml;charset=utf-8," + encodeURIComponent([].concat(data["image/svg+xml"]).join("")) });
      else if (data["text/plain"]) out.push({ text: [].concat(data["text/plain"]).join("") });
      else if (o.output_type === "stream" && o.text) out.push({ text: [].concat(o.text).join("") });
    });
    (model.children || []).forEach(function (ref) {
      staticOutputs(state, String(ref).replace(/^IPY_MODEL_/, ""), seen, out);
    });
    return out;
  }

  function rendered(view) {
    var prev = view.previousElementSibling;
    return !!(prev && prev.classList.contains("widget-subarea") && prev.childElementCount > 0);
  }

  function fallback(view, state) {
    if (view.getAttribute("data-medrepro-fallback") || rendered(view)) return;
    view.setAttribute("data-medrepro-fallback", "shown");
    var id = "";
    try { id = JSON.parse(view.textContent).model_id; } catch (e) { /* keep empty */ }
    var box = document.createElement("div");
    box.className = "medrepro-widget-fallback";
    var note = document.createElement("p");
    note.className = "medrepro-widget-note";
    var outputs = staticOutputs(state, id, {}, []);
    note.textContent = "Interactive widget: its script could not be loaded here (offline?). " +
      (outputs.length ? "Below is what it showed when the notebook ran; run the notebook to use it."
                      : "Run the notebook to use it.");
    box.appendChild(note);
    outputs.forEach(function (o) {
      if (o.img) {
        var img = document.createElement("img");
        img.src = o.img;
        img.alt = "static output of the interactive widget";
        box.appendChild(img);
      } else {
        var pre = document.createElement("pre");
        pre.textContent = o.text;
        box.appendChild(pre);
      }
    });
    view.parentNode.insertBefore(box, view);
  }

  function run() {
    var views = document.querySelectorAll(VIEW);
    if (!views.length) return;
    var state = readState();
    var apply = function () { Array.prototype.forEach.call(views, function (v) { fallback(v, state); }); };
    // No AMD loader at all means the widget scripts failed: show the fallback at once.
    if (typeof window.require !== "function" || typeof window.define !== "function") { apply(); return; }
    setTimeout(apply, WAIT_MS);
  }

  window.medreproWidgetFallback = run; // for tests
  if (document.readyState === "complete") run();
  else window.addEventListener("load", run);
})();
