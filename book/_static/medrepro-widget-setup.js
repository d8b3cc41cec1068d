/* medrepro: set-up for the ipywidgets HTML manager served from this site. Loaded between
   _static/widgets/require.js and _static/widgets/html-manager/embed-amd.js (see nb_ipywidgets_js in
   _config.yml), on pages that embed widget state only. Code: MIT.
   1. Tell RequireJS where the manager lives (_static/widgets/html-manager), so that the fonts and chunks
      it loads come from the site, not from a folder next to the page.
   2. The manager typesets widget labels with MathJax 2's `MathJax.Hub.Queue`; the book runs MathJax 3,
      so give it a small Hub that forwards to MathJax 3's `typesetPromise` (else: "reading 'Queue'"). */
(function () {
  "use strict";
  var src = document.currentScript && document.currentScript.src;
  if (src && typeof window.require === "function" && window.require.config) {
    var base = src.substring(0, src.lastIndexOf("/") + 1); // .../_static/
    window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": base + "widgets/html-manager" } });
  }
  function addHub() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.version || mj.version.charAt(0) !== "3") return;
    mj.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          var el = Array.isArray(job) && job[0] === "Typeset" ? job[2] : null;
          if (el && mj.typesetPromise) {
            (mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve())
              .then(function () { return mj.typesetPromise([el]); })
              .catch(function (e) { console.warn("MathJax typeset of a widget failed", e); });
          }
        });
      }
    };
  }
  // MathJax is a deferred script: it has run by DOMContentLoaded, and widgets render at "load".
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", addHub);
  else addHub();
})();
