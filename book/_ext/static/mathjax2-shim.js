// ipywidgets typesets widget labels with MathJax 2's MathJax.Hub.Queue; the book loads MathJax 3.
// Map the calls it makes (["Typeset", MathJax.Hub, element] and callbacks) onto MathJax 3.
(function () {
  if (!window.MathJax || window.MathJax.Hub) return;
  window.MathJax.Hub = {
    Queue: function () {
      var jobs = Array.prototype.slice.call(arguments);
      var ready = (MathJax.startup && MathJax.startup.promise) || Promise.resolve();
      return ready.then(function () {
        return jobs.reduce(function (done, job) {
          return done.then(function () {
            if (Array.isArray(job) && job[0] === "Typeset") {
              var el = job[2];
              return MathJax.typesetPromise ? MathJax.typesetPromise(el ? [el] : undefined) : null;
            }
            if (typeof job === "function") return job();
            return null;
          });
        }, Promise.resolve());
      });
    },
  };
})();
