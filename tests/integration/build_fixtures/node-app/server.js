const http = require("http");

const port = Number(process.env.PORT || 3000);
let greet = (name) => `hello ${name}`;
try {
  greet = require("greet");
} catch (e) {
  // the single-stage app has no dependencies
}

http
  .createServer((req, res) => {
    res.setHeader("Content-Type", "text/plain");
    res.end(`${greet("hull")} from ${process.env.APP_VERSION || "v1"}\n`);
  })
  .listen(port, () => console.log(`listening on ${port}`));
