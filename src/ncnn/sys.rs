//! Raw declarations of the parts of ncnn's C API (`ncnn/c_api.h`) that the
//! safe layer in the parent module uses.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_long, c_void};

#[repr(C)]
pub struct ncnn_option {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ncnn_net {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ncnn_extractor {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ncnn_mat {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ncnn_allocator {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ncnn_datareader {
    _private: [u8; 0],
}
/// C's `FILE`.
#[repr(C)]
pub struct CFile {
    _private: [u8; 0],
}

pub type ncnn_option_t = *mut ncnn_option;
pub type ncnn_net_t = *mut ncnn_net;
pub type ncnn_extractor_t = *mut ncnn_extractor;
pub type ncnn_mat_t = *mut ncnn_mat;
pub type ncnn_allocator_t = *mut ncnn_allocator;
pub type ncnn_datareader_t = *mut ncnn_datareader;

pub const NCNN_MAT_PIXEL_RGB: c_int = 1;
pub const NCNN_MAT_PIXEL_BGR: c_int = 2;
pub const NCNN_MAT_PIXEL_RGBA: c_int = 4;
pub const NCNN_MAT_PIXEL_BGRA: c_int = 5;
pub const NCNN_MAT_PIXEL_CONVERT_SHIFT: c_int = 16;

unsafe extern "C" {
    pub fn ncnn_version() -> *const c_char;

    pub fn ncnn_option_create() -> ncnn_option_t;
    pub fn ncnn_option_destroy(opt: ncnn_option_t);
    pub fn ncnn_option_get_num_threads(opt: ncnn_option_t) -> c_int;
    pub fn ncnn_option_set_num_threads(opt: ncnn_option_t, num_threads: c_int);

    pub fn ncnn_mat_create_3d(
        w: c_int,
        h: c_int,
        c: c_int,
        allocator: ncnn_allocator_t,
    ) -> ncnn_mat_t;
    pub fn ncnn_mat_destroy(mat: ncnn_mat_t);
    pub fn ncnn_mat_get_dims(mat: ncnn_mat_t) -> c_int;
    pub fn ncnn_mat_get_w(mat: ncnn_mat_t) -> c_int;
    pub fn ncnn_mat_get_h(mat: ncnn_mat_t) -> c_int;
    pub fn ncnn_mat_get_d(mat: ncnn_mat_t) -> c_int;
    pub fn ncnn_mat_get_c(mat: ncnn_mat_t) -> c_int;
    pub fn ncnn_mat_get_elemsize(mat: ncnn_mat_t) -> usize;
    pub fn ncnn_mat_get_elempack(mat: ncnn_mat_t) -> c_int;
    pub fn ncnn_mat_get_cstep(mat: ncnn_mat_t) -> usize;
    pub fn ncnn_mat_get_data(mat: ncnn_mat_t) -> *mut c_void;
    pub fn ncnn_mat_from_pixels_resize(
        pixels: *const u8,
        type_: c_int,
        w: c_int,
        h: c_int,
        stride: c_int,
        target_width: c_int,
        target_height: c_int,
        allocator: ncnn_allocator_t,
    ) -> ncnn_mat_t;
    pub fn ncnn_mat_substract_mean_normalize(
        mat: ncnn_mat_t,
        mean_vals: *const f32,
        norm_vals: *const f32,
    );
    pub fn ncnn_copy_make_border(
        src: ncnn_mat_t,
        dst: ncnn_mat_t,
        top: c_int,
        bottom: c_int,
        left: c_int,
        right: c_int,
        type_: c_int,
        v: f32,
        opt: ncnn_option_t,
    );

    pub fn ncnn_net_create() -> ncnn_net_t;
    pub fn ncnn_net_destroy(net: ncnn_net_t);
    pub fn ncnn_net_get_option(net: ncnn_net_t) -> ncnn_option_t;
    pub fn ncnn_net_load_param(net: ncnn_net_t, path: *const c_char) -> c_int;
    pub fn ncnn_datareader_create_from_stdio(fp: *mut CFile) -> ncnn_datareader_t;
    pub fn ncnn_datareader_destroy(dr: ncnn_datareader_t);
    pub fn ncnn_net_load_model_datareader(net: ncnn_net_t, dr: ncnn_datareader_t) -> c_int;

    // From the C library, for reading the weights through a FILE.
    pub fn fopen(path: *const c_char, mode: *const c_char) -> *mut CFile;
    pub fn fclose(fp: *mut CFile) -> c_int;
    pub fn ftell(fp: *mut CFile) -> c_long;
    pub fn feof(fp: *mut CFile) -> c_int;

    pub fn ncnn_extractor_create(net: ncnn_net_t) -> ncnn_extractor_t;
    pub fn ncnn_extractor_destroy(ex: ncnn_extractor_t);
    pub fn ncnn_extractor_input(
        ex: ncnn_extractor_t,
        name: *const c_char,
        mat: ncnn_mat_t,
    ) -> c_int;
    pub fn ncnn_extractor_extract(
        ex: ncnn_extractor_t,
        name: *const c_char,
        mat: *mut ncnn_mat_t,
    ) -> c_int;
}
