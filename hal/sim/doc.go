// Package sim is a simulated lane around the real drivers: hal/gpio's loop
// and barrier code on periph's fake pins (gpiotest), with simulated loop
// detectors driving the inputs, a simulated barrier controller whose arm
// moves on the relays and works the limit switches, and simulated cameras;
// scriptable from code (Lane) for the demo, the console of the sim board
// and the end-to-end tests. The only barrier state machine is hal/gpio's.
package sim
