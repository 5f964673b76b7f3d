// Package display drives a lane's LED board and voice announcer over
// RS-485: a codec per protocol family (AA55 first), a decoder for the
// board's answers, a Board that implements hal.Display over a Link (a port
// of its own, or a turn on the camera's bus), the voice-index table with
// the spoken form of amounts, and Screen, the model of what a board shows
// and says, kept by the driver for the console and by the sim board.
//
// What the lane shows at each moment is decided in edge; this package only
// turns commands into bytes and back.
package display
