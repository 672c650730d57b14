// Draws the overview charts from the JSON the page embeds.
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const colors = { accepted: "#2e7d32", review: "#f9a825", rejected: "#9e9e9e", base: "#1565c0", batch: "#8e24aa", live: "#00897b" };
  const datasets = (series, options = {}) =>
    Object.entries(series).map(([name, values]) => ({ label: name, data: values, backgroundColor: colors[name], borderColor: colors[name], ...options }));
  new Chart(document.getElementById("chart-per-day"), {
    type: "bar",
    data: { labels: data.per_day.labels, datasets: datasets(data.per_day.series) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  new Chart(document.getElementById("chart-growth"), {
    type: "line",
    data: { labels: data.growth.labels, datasets: datasets(data.growth.series, { fill: false }) },
    options: { scales: { y: { beginAtZero: true } } },
  });
  // Versions scored on different holdouts are not comparable: no line joins them.
  const sameHoldout = (ctx) => data.curve[ctx.p0DataIndex].holdout === data.curve[ctx.p1DataIndex].holdout;
  const segment = { borderColor: (ctx) => (sameHoldout(ctx) ? undefined : "transparent") };
  new Chart(document.getElementById("chart-curve"), {
    type: "line",
    data: {
      labels: data.curve.map((p) => `v${p.version} (${p.status}, n=${p.size})`),
      datasets: [
        { label: "exact-triplet accuracy", data: data.curve.map((p) => p.exact), borderColor: "#1565c0", segment },
        { label: "mean macro-F1", data: data.curve.map((p) => p.f1), borderColor: "#e65100", segment },
      ],
    },
    options: { scales: { y: { min: 0, max: 1 } } },
  });
});
