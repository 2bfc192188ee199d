import { useMoto } from "./moto";

const moto = useMoto();
const maybe = moto.available ? test : test.skip;

maybe("moto answers on its loopback endpoint", async () => {
  const res = await fetch(`${moto.endpoint}/moto-api/`);
  expect(res.ok).toBe(true);
  await res.arrayBuffer();
});
