// Observable Framework: the dashboards of the customer-intent warehouse, built as static files
// from the BI serving copy (scripts/dashboard.sh, `make dashboard`). docs/dashboards.md.
export default {
  title: "客户意向 Customer intent",
  root: "src",
  // DASHBOARD_OUT: another output folder (the test builds into a temporary one)
  output: process.env.DASHBOARD_OUT || "dist",
  pages: [
    {name: "总览 Overview", path: "/"},
    {name: "意向 Intent", path: "/intent"},
    {name: "漏斗 Funnel", path: "/funnel"},
    {name: "渠道 Channels", path: "/channels"},
    {name: "运维 Operations", path: "/operations"}
  ],
  // no web fonts: the pages load nothing from outside (they are checked offline)
  globalStylesheets: [],
  head: '<link rel="icon" href="data:,">',
  footer: "Customer-intent warehouse · built from the BI serving copy (data/serving), never the build file",
  search: false,
  toc: false,
  preserveExtension: true
};
