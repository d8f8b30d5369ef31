//! n-body: the Computer Language Benchmarks Game's 5-body simulation (Sun,
//! Jupiter, Saturn, Uranus, Neptune; dt = 0.01), its energy before and after
//! `steps` steps. For 1000 steps: −0.169075164 and −0.169087605.
//! Request: {"steps": 1000}
use study::{get_u64, json, Map, Result, Value};

const PI: f64 = std::f64::consts::PI;
const SOLAR_MASS: f64 = 4.0 * PI * PI;
const DAYS_PER_YEAR: f64 = 365.24;

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

fn bodies() -> [Body; 5] {
    let planet = |pos: [f64; 3], vel: [f64; 3], mass: f64| Body {
        pos,
        vel: [vel[0] * DAYS_PER_YEAR, vel[1] * DAYS_PER_YEAR, vel[2] * DAYS_PER_YEAR],
        mass: mass * SOLAR_MASS,
    };
    [
        Body { pos: [0.0; 3], vel: [0.0; 3], mass: SOLAR_MASS },
        planet([4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],
               [1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05],
               9.54791938424326609e-04),
        planet([8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],
               [-2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05],
               2.85885980666130812e-04),
        planet([1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],
               [2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05],
               4.36624404335156298e-05),
        planet([1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01],
               [2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05],
               5.15138902046611451e-05),
    ]
}

fn offset_momentum(b: &mut [Body; 5]) {
    let mut p = [0.0; 3];
    for body in b.iter() {
        for k in 0..3 {
            p[k] += body.vel[k] * body.mass;
        }
    }
    for k in 0..3 {
        b[0].vel[k] = -p[k] / SOLAR_MASS;
    }
}

fn energy(b: &[Body; 5]) -> f64 {
    let mut e = 0.0;
    for i in 0..b.len() {
        let v = &b[i].vel;
        e += 0.5 * b[i].mass * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        for j in i + 1..b.len() {
            let d = [b[i].pos[0] - b[j].pos[0], b[i].pos[1] - b[j].pos[1], b[i].pos[2] - b[j].pos[2]];
            e -= b[i].mass * b[j].mass / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        }
    }
    e
}

fn advance(b: &mut [Body; 5], dt: f64) {
    for i in 0..b.len() {
        for j in i + 1..b.len() {
            let d = [b[i].pos[0] - b[j].pos[0], b[i].pos[1] - b[j].pos[1], b[i].pos[2] - b[j].pos[2]];
            let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let mag = dt / (d2 * d2.sqrt());
            let (mi, mj) = (b[i].mass * mag, b[j].mass * mag);
            for k in 0..3 {
                b[i].vel[k] -= d[k] * mj;
                b[j].vel[k] += d[k] * mi;
            }
        }
    }
    for body in b.iter_mut() {
        for k in 0..3 {
            body.pos[k] += dt * body.vel[k];
        }
    }
}

fn handle(req: &Map<String, Value>) -> Result<Value> {
    let steps = get_u64(req, "steps", 1000, 0, 100_000_000)?;
    let mut b = bodies();
    offset_momentum(&mut b);
    let before = energy(&b);
    for _ in 0..steps {
        advance(&mut b, 0.01);
    }
    Ok(json!({
        "function": "n-body",
        "bodies": b.len(),
        "steps": steps,
        "energy_before": before,
        "energy_after": energy(&b),
    }))
}

fn main() {
    study::main(handle)
}
